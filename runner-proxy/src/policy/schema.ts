import type { JsonSchema, ProtocolRegistry } from './protocol.js';

/**
 * The policy's JSON Schema, built from the protocols a build serves: each connection takes one
 * protocol's settings, each rule condition the keys the protocols declare. `npm run schema` writes it
 * to policy.schema.json for editors, and a unit test fails when that file is stale.
 */
export function policySchema(protocols: ProtocolRegistry): JsonSchema {
  const schema = structuredClone(BASE) as { definitions: Record<'connection' | 'condition', { properties: Record<string, unknown> }> };
  for (const d of protocols.declarations) schema.definitions.connection.properties[d.name] = d.settings;
  const json = schema.definitions.condition.properties.json;
  schema.definitions.condition.properties = {};
  for (const [key, { condition, protocols: declaring, classes }] of protocols.conditions) {
    schema.definitions.condition.properties[key] = condition.schema({ classes, protocols: [...declaring] });
  }
  schema.definitions.condition.properties.json = json;
  return schema as JsonSchema;
}

/** The schema as policy.schema.json holds it. */
export function policySchemaText(protocols: ProtocolRegistry): string {
  return `${JSON.stringify(policySchema(protocols), null, 2)}\n`;
}

/** Everything but the protocols' own words. */
const BASE = 
{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "https://github.com/hoop/govern/policy.schema.json",
  "title": "govern policy",
  "description": "The policy file of govern (.github/govern.yml or .govern.yml). See SPEC §3.",
  "type": "object",
  "additionalProperties": false,
  "required": [
    "version"
  ],
  "properties": {
    "version": {
      "const": 1,
      "description": "The policy format version; only 1 exists."
    },
    "identity": {
      "type": "object",
      "additionalProperties": false,
      "required": [
        "audience",
        "trust"
      ],
      "description": "Who may run this pipeline. Absent: the run is recorded as identity \"none\", with a warning.",
      "properties": {
        "audience": {
          "type": "string",
          "minLength": 1,
          "description": "The token's aud must contain it."
        },
        "trust": {
          "type": "array",
          "minItems": 1,
          "description": "The token must match at least one entry; every claim listed in an entry must match.",
          "items": {
            "type": "object",
            "additionalProperties": false,
            "required": [
              "issuer"
            ],
            "properties": {
              "issuer": {
                "type": "string",
                "description": "github, gitlab, or an https issuer URL (OIDC discovery). Plain http only for a loopback issuer."
              },
              "claims": {
                "type": "object",
                "description": "Claim name to an exact value, a glob (* never crosses '/', ** does) or a list meaning any of. Pin the repository by id: repository_id (GitHub), project_id (GitLab).",
                "additionalProperties": {
                  "oneOf": [
                    {
                      "type": [
                        "string",
                        "number",
                        "boolean"
                      ]
                    },
                    {
                      "type": "array",
                      "minItems": 1,
                      "items": {
                        "type": [
                          "string",
                          "number",
                          "boolean"
                        ]
                      }
                    }
                  ]
                }
              },
              "any_repository": {
                "type": "boolean",
                "description": "Dangerous: let in every repository on the forge. Without it, a github or gitlab entry must name repository_id / repository_owner_id (project_id / namespace_id) or an exact sub."
              }
            }
          }
        }
      }
    },
    "connections": {
      "type": "object",
      "description": "The targets the job reaches through the gateway, by name.",
      "propertyNames": {
        "pattern": "^[A-Za-z][A-Za-z0-9_-]*$"
      },
      "additionalProperties": {
        "$ref": "#/definitions/connection"
      }
    },
    "rules": {
      "type": "array",
      "description": "Every operation is checked against every rule. Precedence: block beats approve beats allow; masks accumulate.",
      "items": {
        "$ref": "#/definitions/rule"
      }
    },
    "approvals": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "via": {
          "enum": [
            "github",
            "gitlab",
            "cli"
          ],
          "description": "Where approvers answer."
        },
        "approvers": {
          "type": "array",
          "items": {
            "type": "string",
            "minLength": 1
          },
          "description": "User names, or @org/team."
        },
        "timeout": {
          "type": "string",
          "pattern": "^[0-9]+(ms|s|m|h)$",
          "description": "How long an operation waits before it is denied, e.g. 15m."
        },
        "allow_self_approval": {
          "type": "boolean",
          "description": "Whether the run's own actor may approve."
        },
        "max_pending": {
          "type": "integer",
          "minimum": 1,
          "description": "How many operations may wait at once."
        }
      }
    },
    "recording": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "results": {
          "enum": [
            "none",
            "summary",
            "masked"
          ],
          "description": "none, summary (counts, sizes) or masked (masked values too)."
        }
      }
    },
    "mode": {
      "enum": [
        "enforce",
        "observe"
      ],
      "description": "observe: decide and record, but let everything through."
    },
    "proxy": {
      "type": "object",
      "additionalProperties": false,
      "description": "A forward proxy for the job (HTTPS_PROXY, HTTP_PROXY and a CA made for this run). The hosts of the http connections are always intercepted.",
      "properties": {
        "intercept": {
          "type": "array",
          "items": {
            "type": "string",
            "minLength": 1
          },
          "description": "More host globs to open and inspect (*.example.com)."
        },
        "tunnel": {
          "type": "array",
          "items": {
            "type": "string",
            "minLength": 1
          },
          "description": "Host globs passed through unopened, recorded as host, port and bytes."
        },
        "others": {
          "enum": [
            "tunnel",
            "refuse"
          ],
          "description": "Every other host: tunnel (default) or refuse, which makes intercept and tunnel an egress allow-list."
        }
      }
    }
  },
  "definitions": {
    "exportName": {
      "type": "string",
      "pattern": "^[A-Z_][A-Z0-9_]*$"
    },
    "connection": {
      "type": "object",
      "additionalProperties": false,
      "required": [
        "export"
      ],
      "properties": {
        "export": {
          "$ref": "#/definitions/exportName",
          "description": "The variable the job gets for this connection."
        }
      }
    },
    "stringOrList": {
      "oneOf": [
        {
          "type": "string"
        },
        {
          "type": "array",
          "minItems": 1,
          "items": {
            "type": "string"
          }
        }
      ]
    },
    "httpValues": {
      "type": "object",
      "minProperties": 1,
      "additionalProperties": {
        "$ref": "#/definitions/stringOrList"
      },
      "description": "HTTP header names (any case) or query parameter names to value globs; a list means any of. A repeated header or parameter matches when any of its values does."
    },
    "condition": {
      "type": "object",
      "additionalProperties": false,
      "minProperties": 1,
      "properties": {
        "json": {
          "type": "string",
          "minLength": 1,
          "description": "A condition on the JSON body, e.g. payment_amount > 1000."
        }
      }
    },
    "rule": {
      "type": "object",
      "additionalProperties": false,
      "required": [
        "name"
      ],
      "properties": {
        "name": {
          "type": "string",
          "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$"
        },
        "when": {
          "type": "object",
          "additionalProperties": false,
          "minProperties": 1,
          "description": "Narrows the rule to some operations.",
          "properties": {
            "connection": {
              "$ref": "#/definitions/stringOrList"
            },
            "method": {
              "$ref": "#/definitions/stringOrList"
            },
            "path": {
              "$ref": "#/definitions/stringOrList"
            },
            "host": {
              "$ref": "#/definitions/stringOrList",
              "description": "HTTP: globs of the target's host name (a connection's, or one the forward proxy intercepts: name those by host, not connection)."
            },
            "headers": {
              "$ref": "#/definitions/httpValues"
            },
            "query": {
              "$ref": "#/definitions/httpValues"
            }
          }
        },
        "mask": {
          "type": "object",
          "additionalProperties": false,
          "minProperties": 1,
          "properties": {
            "columns": {
              "type": "array",
              "items": {
                "type": "string",
                "minLength": 1
              },
              "description": "table.column globs."
            },
            "types": {
              "type": "array",
              "items": {
                "enum": [
                  "credit_card",
                  "us_ssn",
                  "email",
                  "iban",
                  "phone",
                  "aws_key",
                  "bearer_token",
                  "private_key"
                ]
              }
            },
            "json": {
              "type": "array",
              "items": {
                "type": "string",
                "pattern": "^\\$"
              },
              "description": "JSONPath-like selectors: $.a.b, $..ssn, $.items[*].card."
            },
            "headers": {
              "type": "array",
              "items": {
                "type": "string",
                "pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
              },
              "description": "HTTP headers whose values are masked (response headers; request headers with on: write): by types, or whole when the rule lists none."
            },
            "on": {
              "enum": [
                "read",
                "write"
              ],
              "description": "read (default) masks what comes back; write masks what goes to the target: PostgreSQL values bound for columns, HTTP request bodies, query values and headers."
            },
            "strategy": {
              "enum": [
                "redact",
                "partial",
                "hash"
              ]
            },
            "predicates": {
              "description": "PostgreSQL: refuse statements that filter, join, group, order, window-partition on or compare a masked column (an oracle for its values). allow (default) lets them run; allow_param_equality still lets `column = $1` through.",
              "oneOf": [
                {
                  "enum": [
                    "refuse",
                    "allow"
                  ]
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "properties": {
                    "refuse": {
                      "type": "boolean"
                    },
                    "allow_param_equality": {
                      "type": "boolean"
                    }
                  }
                }
              ]
            }
          }
        },
        "block": {
          "$ref": "#/definitions/condition"
        },
        "approve": {
          "$ref": "#/definitions/condition"
        },
        "allow": {
          "$ref": "#/definitions/condition"
        },
        "others": {
          "enum": [
            "refuse",
            "approve"
          ],
          "description": "Makes an allow rule with shell or http lists an allow-list: every command line or request on the connections its when names that the lists do not cover is refused (or held for approval)."
        }
      }
    }
  }
};
