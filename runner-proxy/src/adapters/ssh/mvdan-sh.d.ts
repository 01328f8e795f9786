// mvdan/sh compiled to JavaScript ships no types; these are the parts the command checks use.
declare module 'mvdan-sh' {
  export interface Pos {
    Offset(): number;
  }
  export interface Node {
    Pos(): Pos;
    End(): Pos;
    [field: string]: unknown;
  }
  export interface Parser {
    Parse(src: string, name: string): Node;
  }
  const sh: {
    syntax: {
      NewParser(...options: unknown[]): Parser;
      NodeType(node: Node): string;
      Walk(node: Node, visit: (node: Node | null) => boolean): void;
    };
  };
  export default sh;
}
