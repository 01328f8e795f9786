export const id = 640;
export const ids = [640];
export const modules = {

/***/ 49764:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  Dj: () => (/* binding */ SQL_RUNNING_FUNCTIONS),
  YM: () => (/* binding */ SqlClassifier),
  Ze: () => (/* binding */ exactShape),
  dK: () => (/* binding */ explainAnalyzes),
  Vq: () => (/* binding */ nodeType),
  Je: () => (/* binding */ stringOf)
});

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/builtin-functions.ts
/**
 * What a call to a function does, from the facts of PostgreSQL's own catalog about its built-in
 * functions (`pg_catalog`): PostgreSQL 15's lists, and some later versions' non-volatile names. Made by
 *   SELECT DISTINCT lower(proname) FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace AND provolatile = 'v'
 * and, for the second list, the `pg_%`/`lo%` names none of whose forms is volatile. The test
 * `pg-guardrail-classes.test.ts` checks every built-in of the server it runs against, so a drift shows.
 */
/** Built-ins with a volatile form: they may change something, so each is dangerous unless reviewed. */
const VOLATILE_BUILTINS = new Set(`
  amvalidate bernoulli binary_upgrade_create_empty_extension binary_upgrade_set_missing_value
  binary_upgrade_set_next_array_pg_type_oid binary_upgrade_set_next_heap_pg_class_oid
  binary_upgrade_set_next_heap_relfilenode binary_upgrade_set_next_index_pg_class_oid
  binary_upgrade_set_next_index_relfilenode binary_upgrade_set_next_multirange_array_pg_type_oid
  binary_upgrade_set_next_multirange_pg_type_oid binary_upgrade_set_next_pg_authid_oid
  binary_upgrade_set_next_pg_enum_oid binary_upgrade_set_next_pg_tablespace_oid
  binary_upgrade_set_next_pg_type_oid binary_upgrade_set_next_toast_pg_class_oid
  binary_upgrade_set_next_toast_relfilenode binary_upgrade_set_record_init_privs brin_desummarize_range
  brin_summarize_new_values brin_summarize_range brinhandler bthandler clock_timestamp current_query currtid2
  currval cursor_to_xml cursor_to_xmlschema dsnowball_init dsnowball_lexize gen_random_uuid
  gin_clean_pending_list ginhandler gisthandler hashhandler heap_tableam_handler lastval lo_close lo_creat
  lo_create lo_export lo_from_bytea lo_get lo_import lo_lseek lo_lseek64 lo_open lo_put lo_tell lo_tell64
  lo_truncate lo_truncate64 lo_unlink loread lowrite nextval pg_advisory_lock pg_advisory_lock_shared
  pg_advisory_unlock pg_advisory_unlock_all pg_advisory_unlock_shared pg_advisory_xact_lock
  pg_advisory_xact_lock_shared pg_backup_start pg_backup_stop pg_blocking_pids pg_cancel_backend
  pg_collation_actual_version pg_control_checkpoint pg_control_init pg_control_recovery pg_control_system
  pg_copy_logical_replication_slot pg_copy_physical_replication_slot pg_create_logical_replication_slot
  pg_create_physical_replication_slot pg_create_restore_point pg_current_logfile pg_current_wal_flush_lsn
  pg_current_wal_insert_lsn pg_current_wal_lsn pg_database_collation_actual_version pg_database_size
  pg_drop_replication_slot pg_export_snapshot pg_extension_config_dump pg_get_backend_memory_contexts
  pg_get_multixact_members pg_get_shmem_allocations pg_get_wal_replay_pause_state pg_get_wal_resource_managers
  pg_hba_file_rules pg_ident_file_mappings pg_import_system_collations pg_indexes_size pg_is_in_recovery
  pg_is_wal_replay_paused pg_isolation_test_session_is_blocked pg_jit_available pg_last_committed_xact
  pg_last_wal_receive_lsn pg_last_wal_replay_lsn pg_last_xact_replay_timestamp pg_lock_status
  pg_log_backend_memory_contexts pg_logical_emit_message pg_logical_slot_get_binary_changes
  pg_logical_slot_get_changes pg_logical_slot_peek_binary_changes pg_logical_slot_peek_changes
  pg_ls_archive_statusdir pg_ls_dir pg_ls_logdir pg_ls_logicalmapdir pg_ls_logicalsnapdir pg_ls_replslotdir
  pg_ls_tmpdir pg_ls_waldir pg_nextoid pg_notification_queue_usage pg_notify pg_partition_ancestors
  pg_partition_tree pg_prepared_xact pg_promote pg_read_binary_file pg_read_file pg_read_file_old
  pg_relation_size pg_reload_conf pg_replication_origin_advance pg_replication_origin_create
  pg_replication_origin_drop pg_replication_origin_progress pg_replication_origin_session_is_setup
  pg_replication_origin_session_progress pg_replication_origin_session_reset
  pg_replication_origin_session_setup pg_replication_origin_xact_reset pg_replication_origin_xact_setup
  pg_replication_slot_advance pg_rotate_logfile pg_rotate_logfile_old pg_safe_snapshot_blocking_pids
  pg_sequence_last_value pg_show_all_file_settings pg_show_replication_origin_status pg_sleep pg_sleep_for
  pg_sleep_until pg_stat_clear_snapshot pg_stat_file pg_stat_force_next_flush pg_stat_get_recovery_prefetch
  pg_stat_get_xact_blocks_fetched pg_stat_get_xact_blocks_hit pg_stat_get_xact_function_calls
  pg_stat_get_xact_function_self_time pg_stat_get_xact_function_total_time pg_stat_get_xact_numscans
  pg_stat_get_xact_tuples_deleted pg_stat_get_xact_tuples_fetched pg_stat_get_xact_tuples_hot_updated
  pg_stat_get_xact_tuples_inserted pg_stat_get_xact_tuples_returned pg_stat_get_xact_tuples_updated
  pg_stat_have_stats pg_stat_reset pg_stat_reset_replication_slot pg_stat_reset_shared
  pg_stat_reset_single_function_counters pg_stat_reset_single_table_counters pg_stat_reset_slru
  pg_stat_reset_subscription_stats pg_stop_making_pinned_objects pg_switch_wal pg_table_size
  pg_tablespace_size pg_terminate_backend pg_total_relation_size pg_try_advisory_lock
  pg_try_advisory_lock_shared pg_try_advisory_xact_lock pg_try_advisory_xact_lock_shared pg_wal_replay_pause
  pg_wal_replay_resume pg_xact_commit_timestamp pg_xact_commit_timestamp_origin pg_xact_status
  plpgsql_call_handler plpgsql_inline_handler plpgsql_validator query_to_xml query_to_xml_and_xmlschema
  query_to_xmlschema random ri_fkey_cascade_del ri_fkey_cascade_upd ri_fkey_check_ins ri_fkey_check_upd
  ri_fkey_noaction_del ri_fkey_noaction_upd ri_fkey_restrict_del ri_fkey_restrict_upd ri_fkey_setdefault_del
  ri_fkey_setdefault_upd ri_fkey_setnull_del ri_fkey_setnull_upd set_config setseed setval spghandler
  suppress_redundant_updates_trigger system timeofday ts_rewrite ts_stat tsvector_update_trigger
  tsvector_update_trigger_column txid_status unique_key_recheck
`.split(/\s+/).filter(Boolean));
/**
 * Built-ins named `pg_…` or `lo…` none of whose forms is volatile (PostgreSQL 16–18's that read only
 * at the end). A `pg_`/`lo_` name in neither list is taken for a newer server's volatile built-in.
 */
const NON_VOLATILE_SYSTEM_FUNCTIONS = new Set(`
  log log10 lower lower_inc lower_inf pg_available_extension_versions pg_available_extensions pg_backend_pid
  pg_char_to_encoding pg_client_encoding pg_collation_for pg_collation_is_visible pg_column_compression
  pg_column_is_updatable pg_column_size pg_conf_load_time pg_config pg_conversion_is_visible
  pg_current_snapshot pg_current_xact_id pg_current_xact_id_if_assigned pg_cursor pg_ddl_command_in
  pg_ddl_command_out pg_ddl_command_recv pg_ddl_command_send pg_dependencies_in pg_dependencies_out
  pg_dependencies_recv pg_dependencies_send pg_describe_object pg_encoding_max_length pg_encoding_to_char
  pg_event_trigger_ddl_commands pg_event_trigger_dropped_objects pg_event_trigger_table_rewrite_oid
  pg_event_trigger_table_rewrite_reason pg_extension_update_paths pg_filenode_relation pg_function_is_visible
  pg_get_catalog_foreign_keys pg_get_constraintdef pg_get_expr pg_get_function_arg_default
  pg_get_function_arguments pg_get_function_identity_arguments pg_get_function_result pg_get_function_sqlbody
  pg_get_functiondef pg_get_indexdef pg_get_keywords pg_get_object_address pg_get_partition_constraintdef
  pg_get_partkeydef pg_get_publication_tables pg_get_replica_identity_index pg_get_replication_slots
  pg_get_ruledef pg_get_serial_sequence pg_get_statisticsobjdef pg_get_statisticsobjdef_columns
  pg_get_statisticsobjdef_expressions pg_get_triggerdef pg_get_userbyid pg_get_viewdef pg_has_role
  pg_identify_object pg_identify_object_as_address pg_index_column_has_property pg_index_has_property
  pg_indexam_has_property pg_indexam_progress_phasename pg_is_other_temp_schema pg_listening_channels pg_lsn
  pg_lsn_cmp pg_lsn_eq pg_lsn_ge pg_lsn_gt pg_lsn_hash pg_lsn_hash_extended pg_lsn_in pg_lsn_larger pg_lsn_le
  pg_lsn_lt pg_lsn_mi pg_lsn_mii pg_lsn_ne pg_lsn_out pg_lsn_pli pg_lsn_recv pg_lsn_send pg_lsn_smaller
  pg_mcv_list_in pg_mcv_list_items pg_mcv_list_out pg_mcv_list_recv pg_mcv_list_send pg_my_temp_schema
  pg_ndistinct_in pg_ndistinct_out pg_ndistinct_recv pg_ndistinct_send pg_node_tree_in pg_node_tree_out
  pg_node_tree_recv pg_node_tree_send pg_opclass_is_visible pg_operator_is_visible pg_opfamily_is_visible
  pg_options_to_table pg_partition_root pg_postmaster_start_time pg_prepared_statement pg_relation_filenode
  pg_relation_filepath pg_relation_is_publishable pg_relation_is_updatable pg_replication_origin_oid
  pg_sequence_parameters pg_settings_get_flags pg_show_all_settings pg_size_bytes pg_size_pretty
  pg_snapshot_in pg_snapshot_out pg_snapshot_recv pg_snapshot_send pg_snapshot_xip pg_snapshot_xmax
  pg_snapshot_xmin pg_stat_get_activity pg_stat_get_analyze_count pg_stat_get_archiver
  pg_stat_get_autoanalyze_count pg_stat_get_autovacuum_count pg_stat_get_backend_activity
  pg_stat_get_backend_activity_start pg_stat_get_backend_client_addr pg_stat_get_backend_client_port
  pg_stat_get_backend_dbid pg_stat_get_backend_idset pg_stat_get_backend_pid pg_stat_get_backend_start
  pg_stat_get_backend_userid pg_stat_get_backend_wait_event pg_stat_get_backend_wait_event_type
  pg_stat_get_backend_xact_start pg_stat_get_bgwriter_buf_written_checkpoints
  pg_stat_get_bgwriter_buf_written_clean pg_stat_get_bgwriter_maxwritten_clean
  pg_stat_get_bgwriter_requested_checkpoints pg_stat_get_bgwriter_stat_reset_time
  pg_stat_get_bgwriter_timed_checkpoints pg_stat_get_blocks_fetched pg_stat_get_blocks_hit
  pg_stat_get_buf_alloc pg_stat_get_buf_fsync_backend pg_stat_get_buf_written_backend
  pg_stat_get_checkpoint_sync_time pg_stat_get_checkpoint_write_time pg_stat_get_db_active_time
  pg_stat_get_db_blk_read_time pg_stat_get_db_blk_write_time pg_stat_get_db_blocks_fetched
  pg_stat_get_db_blocks_hit pg_stat_get_db_checksum_failures pg_stat_get_db_checksum_last_failure
  pg_stat_get_db_conflict_all pg_stat_get_db_conflict_bufferpin pg_stat_get_db_conflict_lock
  pg_stat_get_db_conflict_snapshot pg_stat_get_db_conflict_startup_deadlock pg_stat_get_db_conflict_tablespace
  pg_stat_get_db_deadlocks pg_stat_get_db_idle_in_transaction_time pg_stat_get_db_numbackends
  pg_stat_get_db_session_time pg_stat_get_db_sessions pg_stat_get_db_sessions_abandoned
  pg_stat_get_db_sessions_fatal pg_stat_get_db_sessions_killed pg_stat_get_db_stat_reset_time
  pg_stat_get_db_temp_bytes pg_stat_get_db_temp_files pg_stat_get_db_tuples_deleted
  pg_stat_get_db_tuples_fetched pg_stat_get_db_tuples_inserted pg_stat_get_db_tuples_returned
  pg_stat_get_db_tuples_updated pg_stat_get_db_xact_commit pg_stat_get_db_xact_rollback
  pg_stat_get_dead_tuples pg_stat_get_function_calls pg_stat_get_function_self_time
  pg_stat_get_function_total_time pg_stat_get_ins_since_vacuum pg_stat_get_last_analyze_time
  pg_stat_get_last_autoanalyze_time pg_stat_get_last_autovacuum_time pg_stat_get_last_vacuum_time
  pg_stat_get_live_tuples pg_stat_get_mod_since_analyze pg_stat_get_numscans pg_stat_get_progress_info
  pg_stat_get_replication_slot pg_stat_get_slru pg_stat_get_snapshot_timestamp pg_stat_get_subscription
  pg_stat_get_subscription_stats pg_stat_get_tuples_deleted pg_stat_get_tuples_fetched
  pg_stat_get_tuples_hot_updated pg_stat_get_tuples_inserted pg_stat_get_tuples_returned
  pg_stat_get_tuples_updated pg_stat_get_vacuum_count pg_stat_get_wal pg_stat_get_wal_receiver
  pg_stat_get_wal_senders pg_statistics_obj_is_visible pg_table_is_visible pg_tablespace_databases
  pg_tablespace_location pg_timezone_abbrevs pg_timezone_names pg_trigger_depth pg_ts_config_is_visible
  pg_ts_dict_is_visible pg_ts_parser_is_visible pg_ts_template_is_visible pg_type_is_visible pg_typeof
  pg_visible_in_snapshot pg_wal_lsn_diff pg_walfile_name pg_walfile_name_offset
  pg_input_is_valid pg_input_error_info pg_basetype pg_get_acl pg_split_walfile_name pg_column_toast_chunk_id
`.split(/\s+/).filter(Boolean));
/**
 * Volatile built-ins reviewed for what they do, with the classes that says (none: they only read).
 * Every other volatile built-in is `dangerous_function`: writing server files or large objects,
 * listing server directories, stopping backends, replication, statistics resets.
 */
const REVIEWED_VOLATILE = new Map([
    ...`clock_timestamp timeofday random gen_random_uuid current_query currval lastval txid_status pg_sleep pg_sleep_for
    pg_sleep_until pg_blocking_pids pg_safe_snapshot_blocking_pids pg_isolation_test_session_is_blocked pg_lock_status
    pg_collation_actual_version pg_database_collation_actual_version pg_database_size pg_indexes_size pg_relation_size
    pg_table_size pg_tablespace_size pg_total_relation_size pg_partition_ancestors pg_partition_tree pg_sequence_last_value
    pg_is_in_recovery pg_is_wal_replay_paused pg_get_wal_replay_pause_state pg_jit_available pg_current_wal_lsn
    pg_current_wal_flush_lsn pg_current_wal_insert_lsn pg_last_wal_receive_lsn pg_last_wal_replay_lsn
    pg_last_xact_replay_timestamp pg_last_committed_xact pg_xact_commit_timestamp pg_xact_commit_timestamp_origin pg_xact_status
    pg_prepared_xact pg_notification_queue_usage pg_get_backend_memory_contexts pg_get_shmem_allocations
    pg_get_multixact_members pg_stat_clear_snapshot pg_stat_force_next_flush pg_stat_have_stats pg_stat_get_xact_blocks_fetched
    pg_stat_get_xact_blocks_hit pg_stat_get_xact_function_calls pg_stat_get_xact_function_self_time
    pg_stat_get_xact_function_total_time pg_stat_get_xact_numscans pg_stat_get_xact_tuples_deleted
    pg_stat_get_xact_tuples_fetched pg_stat_get_xact_tuples_hot_updated pg_stat_get_xact_tuples_inserted
    pg_stat_get_xact_tuples_returned pg_stat_get_xact_tuples_updated pg_advisory_unlock pg_advisory_unlock_shared
    pg_advisory_unlock_all lo_open lo_close loread lo_get lo_lseek lo_lseek64 lo_tell lo_tell64`
        .split(/\s+/)
        .filter(Boolean)
        .map((name) => [name, []]),
    // Advisory locks only take a lock, as LOCK does.
    ...`pg_advisory_lock pg_advisory_lock_shared pg_advisory_xact_lock pg_advisory_xact_lock_shared pg_try_advisory_lock
    pg_try_advisory_lock_shared pg_try_advisory_xact_lock pg_try_advisory_xact_lock_shared`
        .split(/\s+/)
        .filter(Boolean)
        .map((name) => [name, ['lock', 'write']]),
    ['nextval', ['write']],
    ['setval', ['write']],
    ['setseed', ['session']],
    ['pg_notify', ['notify']],
    // Classified by its arguments (see settingClasses).
    ['set_config', []],
    ...['query_to_xml', 'query_to_xml_and_xmlschema', 'query_to_xmlschema', 'cursor_to_xml', 'cursor_to_xmlschema', 'ts_stat', 'ts_rewrite'].map((name) => [name, ['unknown', 'write']]),
]);
/** Functions of extensions that reach other servers. */
const DANGEROUS_EXTENSION_FUNCTIONS = new Set(['dblink', 'dblink_exec', 'dblink_open', 'dblink_connect', 'dblink_connect_u', 'dblink_send_query', 'dblink_fetch']);
/**
 * The classes a call contributes, from what the catalog says of the function: a volatile built-in is
 * `dangerous_function` unless reviewed, and so is a `pg_…`/`lo_…` name the catalog facts do not know
 * (a newer server's built-in, or an extension's). Other names are the target's own functions.
 */
function functionClasses(name) {
    const reviewed = REVIEWED_VOLATILE.get(name);
    if (reviewed)
        return reviewed;
    if (DANGEROUS_EXTENSION_FUNCTIONS.has(name) || VOLATILE_BUILTINS.has(name))
        return ['dangerous_function', 'write'];
    if (/^(pg_|lo_)/.test(name) && !NON_VOLATILE_SYSTEM_FUNCTIONS.has(name))
        return ['dangerous_function', 'write'];
    return [];
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/filters.ts
/**
 * Whether a DELETE, UPDATE, MERGE action or ON CONFLICT DO UPDATE is restricted to some of its
 * target's rows, judged from what its condition compares rather than from a list of tautologies.
 *
 * A condition restricts only in these shapes (an allow-list; everything else reaches every row):
 * - a comparison (`= <> < > <= >=`, `IN`, `BETWEEN`, `IS [NOT] DISTINCT FROM`, `LIKE`/`ILIKE`, `= ANY`)
 *   of a bare column of the target (a cast of one too) with values that come from outside the row:
 *   constants, parameters, expressions of those, columns of another table, subqueries over other data;
 * - `IS [NOT] TRUE/FALSE` of a bare column of the target; `WHERE CURRENT OF` a cursor;
 * - `EXISTS` of a subquery over other data whose own condition restricts the target that way;
 * - `AND` with one restricting side; `OR` whose every side is an equality (see `#restriction`).
 * Data counts as the same as the target's (so never restricting) when it reads a relation of the
 * target's name, or a CTE or subquery that does: self-joins in `USING`/`FROM`/`MERGE … USING`, `IN
 * (SELECT id FROM target)`. Where other relations are joined, only columns qualified with the target's
 * name or alias count as the target's. `LIKE` patterns made only of `%` keep every row.
 */
const node = (n, type) => (n && typeof n === 'object' ? n[type] : undefined);
const sval = (n) => node(n, 'String')?.sval;
/** Comparison operators whose truth depends on both sides: each can be false for some value. */
const COMPARISONS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=']);
const COMPARISON_KINDS = new Set(['AEXPR_OP', 'AEXPR_OP_ANY', 'AEXPR_OP_ALL', 'AEXPR_IN', 'AEXPR_DISTINCT', 'AEXPR_NOT_DISTINCT', 'AEXPR_LIKE', 'AEXPR_ILIKE', 'AEXPR_BETWEEN', 'AEXPR_NOT_BETWEEN', 'AEXPR_BETWEEN_SYM', 'AEXPR_NOT_BETWEEN_SYM']);
/** What the statement knows of its target: the table's name, and the CTEs that read it. */
class FilterContext {
    #relname;
    #sameDataCtes = new Set();
    #facts;
    /**
     * `ctes`: every CTE of the whole statement, by name (a name defined twice counts if either reads the
     * target); `facts` learns whether the verdict read a constant's value.
     */
    constructor(relname, ctes, facts) {
        this.#relname = relname;
        this.#facts = facts;
        // A CTE reads the target if its body does, directly or through another CTE: repeat to a fixed point.
        for (let changed = true; changed;) {
            changed = false;
            for (const [name, bodies] of ctes) {
                if (!this.#sameDataCtes.has(name) && bodies.some((b) => this.readsTarget(b))) {
                    this.#sameDataCtes.add(name);
                    changed = true;
                }
            }
        }
    }
    /** Whether a tree reads the target's rows anywhere: its table, or a CTE that does. */
    readsTarget(tree) {
        if (!tree || typeof tree !== 'object')
            return false;
        if (Array.isArray(tree))
            return tree.some((t) => this.readsTarget(t));
        const range = node(tree, 'RangeVar');
        if (range && (range.relname === this.#relname || (!range.schemaname && this.#sameDataCtes.has(String(range.relname)))))
            return true;
        return Object.values(tree).some((v) => this.readsTarget(v));
    }
    /** The scope of a statement on the target (its RangeVar) joined with `others` (USING, FROM, MERGE's source). */
    scope(target, others) {
        const joined = new Map();
        for (const o of others)
            this.#collectRelations(o, joined);
        return { target: targetNames(target), others: joined, bareIsTarget: others.length === 0 };
    }
    /** ON CONFLICT DO UPDATE's scope: the target's columns, and `excluded`, the row proposed from `source`. */
    conflictScope(target, source) {
        return { target: targetNames(target), others: new Map([['excluded', this.readsTarget(source)]]), bareIsTarget: true };
    }
    #collectRelations(from, into) {
        const range = node(from, 'RangeVar');
        if (range) {
            const alias = range.alias?.aliasname;
            into.set(alias ?? String(range.relname), this.readsTarget(from));
            return;
        }
        const join = node(from, 'JoinExpr');
        if (join) {
            this.#collectRelations(join.larg, into);
            this.#collectRelations(join.rarg, into);
            const alias = join.alias?.aliasname;
            if (alias)
                into.set(alias, this.readsTarget(from));
            return;
        }
        const sub = node(from, 'RangeSubselect') ?? node(from, 'RangeFunction') ?? node(from, 'RangeTableFunc');
        const alias = sub?.alias?.aliasname;
        if (alias)
            into.set(alias, this.readsTarget(from));
    }
    /** Whether `condition` (a WHERE, ON or WHEN) restricts the target's rows in `scope`. */
    restricts(condition, scope) {
        return this.#restriction(condition, scope, false) !== 'none';
    }
    /**
     * How a condition (under NOT when `negated`) restricts the target: to the rows equal to given values
     * (`point`), to some other part of them (`broad`), or not at all. Only points combine under OR, since
     * two broad conditions (`id < 5 OR id >= 5`), or a broad one and a point (`id <> 5 OR id = 5`), may
     * cover every row; a NOT of a set (`NOT IN (subquery)`, `<> ALL`, `NOT EXISTS`) holds for every row
     * when the set is empty, so it restricts nothing.
     */
    #restriction(condition, scope, negated) {
        if (condition === undefined || condition === null)
            return 'none';
        const bool = node(condition, 'BoolExpr');
        if (bool) {
            const args = bool.args ?? [];
            if (bool.boolop === 'NOT_EXPR')
                return this.#restriction(args[0], scope, !negated);
            const kinds = args.map((a) => this.#restriction(a, scope, negated));
            // NOT swaps AND and OR (De Morgan).
            if ((bool.boolop === 'AND_EXPR') !== negated)
                return kinds.includes('point') ? 'point' : kinds.includes('broad') ? 'broad' : 'none';
            return kinds.length > 0 && kinds.every((k) => k === 'point') ? 'point' : 'none';
        }
        if (node(condition, 'CurrentOfExpr'))
            return negated ? 'broad' : 'point';
        const test = node(condition, 'BooleanTest');
        if (test)
            return this.#side(test.arg, scope) === 'target' ? 'broad' : 'none';
        const sub = node(condition, 'SubLink');
        if (sub)
            return this.#subqueryRestriction(sub, scope, negated);
        const expr = node(condition, 'A_Expr');
        return expr ? this.#comparison(expr, scope, negated) : 'none';
    }
    /** `[NOT] EXISTS (…)`, `x [NOT] IN (subquery)`, `x op ANY/ALL (subquery)`. */
    #subqueryRestriction(sub, scope, negated) {
        if (sub.subLinkType === 'EXISTS_SUBLINK')
            return negated ? 'none' : this.#existsRestriction(sub.subselect, scope);
        if (sub.subLinkType !== 'ANY_SUBLINK' && sub.subLinkType !== 'ALL_SUBLINK')
            return 'none';
        const operator = sval(sub.operName?.at(-1)) ?? '=';
        if (!COMPARISONS.has(operator) || this.#side(sub.testexpr, scope) !== 'target')
            return 'none';
        // x op ANY (empty) is false, x op ALL (empty) true; NOT swaps them.
        if ((sub.subLinkType === 'ALL_SUBLINK') !== negated)
            return 'none';
        const point = operator === '=' && !negated;
        if (this.#outsideSubquery(sub.subselect, scope))
            return point ? 'point' : 'broad';
        return point && this.#restrictedSelf(sub.subselect) ? 'point' : 'none';
    }
    /**
     * `IN (SELECT … FROM target WHERE …)`: a subquery over the target's own rows (alone, or in an inner
     * join with other data) that its own condition restricts yields values of some rows only.
     */
    #restrictedSelf(subselect) {
        const select = node(subselect, 'SelectStmt');
        const from = select?.fromClause ?? [];
        if (!select || from.length !== 1)
            return false;
        const own = (n) => node(n, 'RangeVar')?.relname === this.#relname;
        const join = node(from[0], 'JoinExpr');
        if (own(from[0]))
            return this.restricts(select.whereClause, this.scope(node(from[0], 'RangeVar'), []));
        if (!join || join.jointype !== 'JOIN_INNER' || join.usingClause || join.isNatural)
            return false;
        const [mine, other] = own(join.larg) ? [join.larg, join.rarg] : own(join.rarg) ? [join.rarg, join.larg] : [];
        if (!mine || this.readsTarget(other))
            return false;
        const both = { BoolExpr: { boolop: 'AND_EXPR', args: [join.quals, select.whereClause].filter((c) => c !== undefined) } };
        return this.restricts(both, this.scope(node(mine, 'RangeVar'), [other]));
    }
    /** A comparison of a bare column of the target with values from outside its row. */
    #comparison(expr, scope, negated) {
        const kind = String(expr.kind);
        const operator = sval(expr.name?.at(-1)) ?? '';
        const like = kind === 'AEXPR_LIKE' || kind === 'AEXPR_ILIKE';
        if (!COMPARISON_KINDS.has(kind) || (!kind.includes('BETWEEN') && !like && !COMPARISONS.has(operator)))
            return 'none';
        const list = node(expr.rexpr, 'List')?.items;
        const compares = this.#compares(expr.lexpr, list ?? [expr.rexpr], scope) || (list === undefined && this.#compares(expr.rexpr, [expr.lexpr], scope));
        if (!compares)
            return 'none';
        switch (kind) {
            case 'AEXPR_BETWEEN':
            case 'AEXPR_BETWEEN_SYM':
            case 'AEXPR_NOT_BETWEEN':
            case 'AEXPR_NOT_BETWEEN_SYM':
                // NOT BETWEEN is `x < low OR x > high`: true for every row when low > high.
                return kind.includes('NOT') !== negated ? 'none' : 'broad';
            case 'AEXPR_OP_ANY':
            case 'AEXPR_OP_ALL':
                if ((kind === 'AEXPR_OP_ALL') !== negated)
                    return 'none';
                return operator === '=' && !negated ? 'point' : 'broad';
            case 'AEXPR_DISTINCT':
            case 'AEXPR_NOT_DISTINCT':
                // IS DISTINCT FROM an expression that may be NULL is IS NOT NULL: only a constant or a parameter will do.
                if (!this.#plain(expr.lexpr) && !this.#plain(expr.rexpr))
                    return 'none';
                return (kind === 'AEXPR_NOT_DISTINCT') !== negated ? 'point' : 'broad';
            case 'AEXPR_LIKE':
            case 'AEXPR_ILIKE': {
                // A pattern computed from constants may be `%`: only a constant or a parameter will do.
                if (!this.#plain(expr.rexpr))
                    return 'none';
                const pattern = constantText(expr.rexpr);
                if (pattern !== undefined)
                    this.#facts.readsValue = true;
                const positive = !operator.startsWith('!') !== negated;
                return positive && pattern !== undefined && /^[%_]*$/.test(pattern) ? 'none' : 'broad';
            }
            default: {
                const equality = operator === '=' ? !negated : operator === '<>' || operator === '!=' ? negated : false;
                return equality ? 'point' : 'broad';
            }
        }
    }
    /** A constant other than NULL (which the normalized text hides: a value read), or a parameter, cast or not. */
    #plain(n) {
        const cast = node(n, 'TypeCast');
        if (cast)
            return this.#plain(cast.arg);
        const constant = node(n, 'A_Const');
        if (constant)
            this.#facts.readsValue = true;
        return node(n, 'ParamRef') !== undefined || (constant !== undefined && !constant.isnull);
    }
    /** A bare column of the target on one side, and only values from outside the row on the other. */
    #compares(left, right, scope) {
        return this.#side(left, scope) === 'target' && right.length > 0 && right.every((r) => this.#side(r, scope) === 'outside');
    }
    /**
     * EXISTS (subquery over other data WHERE it restricts the target), correlated by the target's name. A
     * subquery that aggregates or groups returns a row whatever its WHERE says: it restricts nothing.
     */
    #existsRestriction(subselect, scope) {
        const select = node(subselect, 'SelectStmt');
        if (!select || this.readsTarget(subselect))
            return 'none';
        if (select.groupClause || select.havingClause || mentionsCall(select.targetList))
            return 'none';
        const inner = new Map(scope.others);
        for (const f of select.fromClause ?? [])
            this.#collectRelations(f, inner);
        const target = new Set([...scope.target].filter((n) => !inner.has(n)));
        // An unqualified name inside may be the subquery's column or the target's: it counts as neither.
        return this.#restriction(select.whereClause, { target, others: inner, bareIsTarget: false }, false);
    }
    /**
     * What an expression is to the target's row: a bare column of it (`target`), a value from outside the
     * row (`outside`: no column of the target or of the same data), or neither.
     */
    #side(expr, scope) {
        const cast = node(expr, 'TypeCast') ?? node(expr, 'CollateClause');
        if (cast)
            return this.#side(cast.arg, scope);
        const ref = node(expr, 'ColumnRef');
        if (ref) {
            const fields = ref.fields ?? [];
            if (fields.some((f) => node(f, 'A_Star')))
                return 'mixed';
            if (fields.length === 1)
                return scope.bareIsTarget ? 'target' : 'mixed';
            const qualifier = fields.slice(0, -1).map(sval).slice(-2).join('.');
            const relation = fields.length >= 2 ? sval(fields.at(-2)) : undefined;
            if (scope.target.has(qualifier) || (relation !== undefined && scope.target.has(relation)))
                return 'target';
            const other = relation === undefined ? undefined : scope.others.get(relation);
            return other === false ? 'outside' : 'mixed';
        }
        return this.#outside(expr, scope) ? 'outside' : 'mixed';
    }
    /** No column of the target (or of the same data), and no subquery reading the target, anywhere in it. */
    #outside(expr, scope) {
        if (!expr || typeof expr !== 'object')
            return true;
        if (Array.isArray(expr))
            return expr.every((e) => this.#outside(e, scope));
        if (node(expr, 'ColumnRef'))
            return this.#side(expr, scope) === 'outside';
        const sub = node(expr, 'SubLink');
        if (sub)
            return this.#outsideSubquery(sub.subselect, scope) && this.#outside(sub.testexpr, scope);
        return Object.values(expr).every((v) => this.#outside(v, scope));
    }
    /**
     * A subquery over other data: it reads no relation of the target's data and names no column of the
     * target. A name it does not qualify could be the target's (when its own relations have no such
     * column), so it may have none.
     */
    #outsideSubquery(subselect, scope) {
        if (this.readsTarget(subselect))
            return false;
        const select = node(subselect, 'SelectStmt');
        // Without a FROM of its own, every name in it is the outer row's.
        if (select && !select.fromClause && !select.valuesLists && !select.larg)
            return false;
        return !mayNameTarget(subselect, scope.target);
    }
}
/** Whether a tree has a column reference that may be the target's: qualified with its name, or not qualified. */
function mayNameTarget(tree, target) {
    if (!tree || typeof tree !== 'object')
        return false;
    if (Array.isArray(tree))
        return tree.some((t) => mayNameTarget(t, target));
    const ref = node(tree, 'ColumnRef');
    if (ref) {
        const fields = ref.fields ?? [];
        if (fields.length === 1)
            return !node(fields[0], 'A_Star');
        return target.has(sval(fields.at(-2)) ?? '');
    }
    return Object.values(tree).some((v) => mayNameTarget(v, target));
}
function targetNames(target) {
    const alias = target.alias?.aliasname;
    if (alias)
        return new Set([alias]);
    return new Set([String(target.relname), ...(target.schemaname ? [`${String(target.schemaname)}.${String(target.relname)}`] : [])]);
}
/** Whether a tree calls a function anywhere (an aggregate would make a row of no rows). */
function mentionsCall(tree) {
    if (!tree || typeof tree !== 'object')
        return false;
    if (Array.isArray(tree))
        return tree.some(mentionsCall);
    if (node(tree, 'FuncCall'))
        return true;
    return Object.values(tree).some(mentionsCall);
}
/** The text of a string constant (a LIKE pattern). */
function constantText(n) {
    const text = node(n, 'A_Const')?.sval?.sval;
    return typeof text === 'string' ? text : undefined;
}
/** Every CTE in a tree by name: a DML statement inside a CTE may refer to its siblings. */
function ctesIn(tree, into = new Map()) {
    if (!tree || typeof tree !== 'object')
        return into;
    if (Array.isArray(tree)) {
        for (const t of tree)
            ctesIn(t, into);
        return into;
    }
    const cte = node(tree, 'CommonTableExpr');
    if (cte?.ctename)
        into.set(String(cte.ctename), [...(into.get(String(cte.ctename)) ?? []), cte.ctequery]);
    for (const v of Object.values(tree))
        ctesIn(v, into);
    return into;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/shape.ts
/**
 * A statement's shape without the parser: one pass of PostgreSQL's lexical rules cuts out every
 * constant, so that texts differing only in their constants' values share a key, and the classifier
 * finds what it decided for one of them without normalizing or parsing the other.
 *
 * The key is trusted only where the scan cannot misread the text as PostgreSQL's lexer reads it. Any
 * construct it does not follow exactly gives no shape, and the parser decides: a standard string
 * holding a backslash (standard_conforming_strings could make it an escape), `U&`, `B`, `X` and `N`
 * strings, non-decimal or underscored numbers, a number run into a name, an unterminated string,
 * quoted name, dollar quote or comment, a control character or a backslash outside a string. Only texts
 * whose every statement is a SELECT, INSERT, UPDATE, DELETE, WITH or VALUES have a shape: their
 * constants are all replaced by the parser's normalization too, which the classification's rule of
 * reading a constant's value only with `readsValue` set is made against.
 */
const SHAPED = /^\s*(select|insert|update|delete|with|values)\b/i;
const STATEMENT_START = /^(select|insert|update|delete|with|values)$/i;
const INTEGER = '\u0001';
const STRING = '\u0002';
const NUMBER = '\u0003';
const isDigit = (c) => c >= 0x30 && c <= 0x39;
/** What starts a name or a dollar quote's tag: letters, `_`, and every non-ASCII character (as PostgreSQL's high-bit bytes). */
const isNameStart = (c) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
const isTagPart = (c) => isNameStart(c) || isDigit(c);
const isNamePart = (c) => isTagPart(c) || c === 0x24;
/** Whitespace as PostgreSQL's lexer knows it: space, tab, newline, carriage return, form feed. */
const isSpace = (c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c;
/** Characters no key may hold outside a constant, so that its marks are unambiguous; PostgreSQL reads none of them as whitespace. */
const CONTROL = /[\u0000-\u0008\u000b\u000e-\u001f\u007f]/;
/**
 * NUL, then the text with each constant's value replaced: an integer by U+0001, any other number by
 * U+0003, a string's body (between its quotes, which stay) by U+0002. Everything else is kept as it
 * was, comments included, so two texts with one key differ in their constants' values alone.
 */
function statementShape(sql) {
    if (!SHAPED.test(sql) || CONTROL.test(sql))
        return undefined;
    const length = sql.length;
    let key = '\u0000';
    let copied = 0;
    /** After a `;`: the next word must start a statement of a shaped kind. */
    let statementStart = false;
    const replace = (start, end, mark) => {
        key += sql.slice(copied, start) + mark;
        copied = end;
    };
    for (let i = 0; i < length; i++) {
        const c = sql.charCodeAt(i);
        if (isSpace(c))
            continue;
        const next = sql.charCodeAt(i + 1);
        if (c === 0x2d && next === 0x2d) {
            // -- to the end of the line.
            while (i + 1 < length && sql.charCodeAt(i + 1) !== 0x0a && sql.charCodeAt(i + 1) !== 0x0d)
                i++;
            continue;
        }
        if (c === 0x2f && next === 0x2a) {
            // Block comments nest.
            let depth = 1;
            for (i += 2; depth > 0; i++) {
                if (i + 1 >= length)
                    return undefined;
                const a = sql.charCodeAt(i);
                const b = sql.charCodeAt(i + 1);
                if (a === 0x2f && b === 0x2a)
                    (depth++, i++);
                else if (a === 0x2a && b === 0x2f)
                    (depth--, i++);
            }
            i--;
            continue;
        }
        if (statementStart) {
            statementStart = false;
            if (!isNameStart(c))
                return undefined;
            let end = i + 1;
            while (end < length && isNamePart(sql.charCodeAt(end)))
                end++;
            if (!STATEMENT_START.test(sql.slice(i, end)))
                return undefined;
        }
        if (c === 0x27) {
            const end = standardStringEnd(sql, i + 1);
            if (end < 0)
                return undefined;
            replace(i + 1, end, STRING);
            i = end;
            continue;
        }
        if (c === 0x22) {
            // A quoted name, `""` for a quote: kept.
            for (i++;; i++) {
                if (i >= length)
                    return undefined;
                if (sql.charCodeAt(i) !== 0x22)
                    continue;
                if (sql.charCodeAt(i + 1) !== 0x22)
                    break;
                i++;
            }
            continue;
        }
        if (c === 0x24) {
            if (isDigit(next)) {
                // A parameter: kept.
                while (i + 1 < length && isDigit(sql.charCodeAt(i + 1)))
                    i++;
                if (isNamePart(sql.charCodeAt(i + 1)))
                    return undefined;
                continue;
            }
            const end = dollarQuoted(sql, i);
            if (end === undefined)
                return undefined;
            replace(end.bodyStart, end.bodyEnd, STRING);
            i = end.end - 1;
            continue;
        }
        if (isDigit(c) || (c === 0x2e && isDigit(next))) {
            const end = numberEnd(sql, i);
            if (end < 0)
                return undefined;
            replace(i, end, sql.slice(i, end).search(/[.eE]/) < 0 ? INTEGER : NUMBER);
            i = end - 1;
            continue;
        }
        if (isNameStart(c)) {
            if (next === 0x27) {
                if (c === 0x65 || c === 0x45) {
                    // E'…': backslash escapes, whatever standard_conforming_strings says.
                    const end = escapeStringEnd(sql, i + 2);
                    if (end < 0)
                        return undefined;
                    replace(i + 2, end, STRING);
                    i = end;
                    continue;
                }
                // B'…', X'…', N'…' (and U&'…' below) are not followed here.
                if (/[bBxXnN]/.test(sql[i]))
                    return undefined;
            }
            if ((c === 0x75 || c === 0x55) && next === 0x26)
                return undefined;
            while (i + 1 < length && isNamePart(sql.charCodeAt(i + 1)))
                i++;
            continue;
        }
        if (c === 0x3b) {
            statementStart = true;
            continue;
        }
        // A backslash outside a string: the parser decides what it means.
        if (c === 0x5c)
            return undefined;
    }
    return key + sql.slice(copied);
}
/** Where a standard string's closing quote is, from its body's start; -1 when there is none, or a backslash the setting could make an escape. */
function standardStringEnd(sql, from) {
    for (let i = from; i < sql.length; i++) {
        const c = sql.charCodeAt(i);
        if (c === 0x5c)
            return -1;
        if (c !== 0x27)
            continue;
        if (sql.charCodeAt(i + 1) !== 0x27)
            return i;
        i++;
    }
    return -1;
}
/** Where an E string's closing quote is: a backslash takes the next character whatever it is, `''` is a quote. */
function escapeStringEnd(sql, from) {
    for (let i = from; i < sql.length; i++) {
        const c = sql.charCodeAt(i);
        if (c === 0x5c)
            i++;
        else if (c === 0x27) {
            if (sql.charCodeAt(i + 1) !== 0x27)
                return i;
            i++;
        }
    }
    return -1;
}
/** A dollar-quoted string from its first `$`: `$tag$…$tag$`, the tag a name without `$` (or none). */
function dollarQuoted(sql, start) {
    let i = start + 1;
    if (i < sql.length && !isNameStart(sql.charCodeAt(i)) && sql.charCodeAt(i) !== 0x24)
        return undefined;
    while (i < sql.length && isTagPart(sql.charCodeAt(i)))
        i++;
    if (sql.charCodeAt(i) !== 0x24)
        return undefined;
    const tag = sql.slice(start, i + 1);
    const bodyEnd = sql.indexOf(tag, i + 1);
    if (bodyEnd < 0)
        return undefined;
    return { bodyStart: i + 1, bodyEnd, end: bodyEnd + tag.length };
}
/**
 * Where a decimal number ends: digits, a fraction, an exponent. -1 for what the scan does not follow:
 * `0x`, `0o`, `0b` and `_` forms (PostgreSQL 16), `1..2`, an exponent without digits, and a number run
 * into a name or another point (trailing junk, refused by PostgreSQL 15 and read otherwise before).
 */
function numberEnd(sql, start) {
    let i = start;
    const digits = () => {
        const from = i;
        while (isDigit(sql.charCodeAt(i)))
            i++;
        return i - from;
    };
    const intDigits = digits();
    if (intDigits === 1 && sql.charCodeAt(start) === 0x30 && /[xXoObB]/.test(sql[i] ?? ''))
        return -1;
    if (sql.charCodeAt(i) === 0x2e) {
        if (sql.charCodeAt(i + 1) === 0x2e)
            return -1;
        i++;
        if (digits() === 0 && intDigits === 0)
            return -1;
    }
    if (sql.charCodeAt(i) === 0x65 || sql.charCodeAt(i) === 0x45) {
        i++;
        if (sql.charCodeAt(i) === 0x2b || sql.charCodeAt(i) === 0x2d)
            i++;
        if (digits() === 0)
            return -1;
    }
    const after = sql.charCodeAt(i);
    if (isNamePart(after) || after === 0x2e)
        return -1;
    return i;
}

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/classify.ts



const WRITE_CLASSES = new Set([
    'write', 'insert', 'update', 'delete', 'merge', 'delete_without_where', 'update_without_where', 'ddl', 'create', 'alter',
    'drop', 'truncate', 'grant', 'set_role', 'integrity_setting', 'alter_system', 'copy_from', 'copy_program', 'dangerous_function', 'unknown',
    'maintenance', 'lock',
]);
/** Functions that run SQL given as text: what they do cannot be known from the statement. */
const SQL_RUNNING_FUNCTIONS = new Set([
    'query_to_xml', 'query_to_xml_and_xmlschema', 'query_to_xmlschema', 'cursor_to_xml', 'cursor_to_xmlschema', 'ts_stat', 'ts_rewrite',
    'dblink', 'dblink_exec', 'dblink_open', 'dblink_send_query', 'dblink_fetch', 'dblink_build_sql_insert', 'dblink_build_sql_update',
    'dblink_build_sql_delete', 'table_to_xml', 'table_to_xml_and_xmlschema', 'schema_to_xml', 'database_to_xml',
    'database_to_xml_and_xmlschema', 'schema_to_xml_and_xmlschema',
]);
/** Settings whose change makes the session act as someone else. */
const ROLE_SETTINGS = new Set(['role', 'session_authorization']);
/** Settings that turn off integrity checks (triggers, foreign keys, read-only, checksums) or auditing. */
const INTEGRITY_SETTINGS = new Set([
    'session_replication_role', 'zero_damaged_pages', 'ignore_checksum_failure',
    'ignore_system_indexes', 'ignore_invalid_pages', 'allow_system_table_mods', 'allow_in_place_tablespaces', 'row_security', 'track_activities',
]);
const AUDIT_SETTING = /^(log_|pgaudit\.|debug_)/;
/** Settings that only turning off weakens: READ ONLY is harmless, READ WRITE lifts a read-only default. */
const READ_ONLY_SETTINGS = new Set(['transaction_read_only', 'default_transaction_read_only']);
/**
 * The classes of changing a setting (its name case-folded, as PostgreSQL reads it) to `value` (a
 * constant's text; undefined when computed).
 */
function settingClasses(name, value, c) {
    const folded = name.toLowerCase();
    if (ROLE_SETTINGS.has(folded))
        return ['set_role', 'write'];
    if (INTEGRITY_SETTINGS.has(folded) || AUDIT_SETTING.test(folded))
        return ['integrity_setting', 'write'];
    if (READ_ONLY_SETTINGS.has(folded)) {
        c.readsValue = true;
        if (!/^(on|true|yes|1)$/i.test(value ?? ''))
            return ['integrity_setting', 'write'];
    }
    return ['session'];
}
class Collector {
    prepared;
    parser;
    classes = new Set();
    /** False when the result depends on the session (PREPARE, EXECUTE, DEALLOCATE). */
    cacheable = true;
    /** Set when the result read a constant's value: it holds for this exact text only. */
    readsValue = false;
    /** Every CTE of the statement being walked, by name. */
    ctes = new Map();
    copies = [];
    prepares = new Map();
    constructor(prepared, parser) {
        this.prepared = prepared;
        this.parser = parser;
    }
    add(...classes) {
        for (const c of classes)
            this.classes.add(c);
    }
    filters(target) {
        return new FilterContext(String(target.relname), this.ctes, this);
    }
}
const nodeType = (n) => {
    if (!n || typeof n !== 'object' || Array.isArray(n))
        return undefined;
    const keys = Object.keys(n);
    return keys.length === 1 && /^[A-Z]/.test(keys[0]) ? [keys[0], n[keys[0]]] : undefined;
};
function funcName(fn) {
    const parts = fn.funcname ?? [];
    const last = parts.at(-1);
    return (last?.String?.sval ?? '').toLowerCase();
}
/**
 * MERGE takes the class of each action. An UPDATE or DELETE of matched rows is restricted when its join
 * condition or its own WHEN condition restricts the target (see filters.ts); one of the rows the source
 * does not match (NOT MATCHED BY SOURCE) only by its own condition.
 */
function mergeActionClasses(node, c) {
    const target = node.relation;
    const filters = c.filters(target);
    const joined = filters.scope(target, [node.sourceRelation]);
    const alone = filters.scope(target, []);
    const joinRestricts = filters.restricts(node.joinCondition, joined);
    const classes = [];
    for (const w of node.mergeWhenClauses ?? []) {
        const clause = w.MergeWhenClause ?? {};
        const action = clause.commandType === 'CMD_UPDATE' ? 'update' : clause.commandType === 'CMD_DELETE' ? 'delete' : clause.commandType === 'CMD_INSERT' ? 'insert' : undefined;
        if (!action)
            continue;
        classes.push(action);
        if (action === 'insert')
            continue;
        const restricted = clause.matchKind === 'MERGE_WHEN_NOT_MATCHED_BY_SOURCE' ? filters.restricts(clause.condition, alone) : joinRestricts || filters.restricts(clause.condition, joined);
        if (!restricted)
            classes.push(`${action}_without_where`);
    }
    return classes;
}
/** UPDATE and DELETE: restricted when their WHERE restricts the target, with USING/FROM joined. */
function unrestricted(node, joined, c) {
    const target = node.relation;
    const filters = c.filters(target);
    return !filters.restricts(node.whereClause, filters.scope(target, joined ?? []));
}
/**
 * ON CONFLICT DO UPDATE updates the rows whose key matches a proposed row: restricted when the proposed
 * rows come from outside the target (VALUES, parameters, other tables) or its WHERE restricts.
 */
function conflictUnrestricted(node, c) {
    const target = node.relation;
    const filters = c.filters(target);
    const conflict = node.onConflictClause;
    if (!filters.readsTarget(node.selectStmt))
        return false;
    return !filters.restricts(conflict.whereClause, filters.conflictScope(target, node.selectStmt));
}
const stringOf = (n) => n?.String?.sval;
/**
 * A COPY's options read as PostgreSQL's ProcessCopyOptions reads them: the old syntax (`CSV HEADER
 * DELIMITER '|'`) arrives as the same options; the last of an option repeated is kept (PostgreSQL
 * refuses the statement anyway). What decides masking beyond the format (the header, the delimiter,
 * the null marker, the quote and escape) is a constant's value, so the classification notes that it
 * read one.
 */
function copySpec(node, c) {
    const relation = node.relation;
    const options = new Map();
    for (const o of node.options ?? []) {
        const def = o.DefElem;
        if (def?.defname)
            options.set(def.defname.toLowerCase(), def.arg);
    }
    if (options.size)
        c.readsValue = true;
    const text = (name) => optionText(options.get(name));
    const format = (text('format') ?? 'text').toLowerCase();
    const columnList = (arg) => (nodeType(arg)?.[0] === 'A_Star' ? '*' : listOf(arg));
    return {
        ...(relation?.relname && { relation: relation.schemaname ? `${relation.schemaname}.${relation.relname}` : relation.relname }),
        ...(Array.isArray(node.attlist) && { columns: node.attlist.map((a) => stringOf(a) ?? '') }),
        ...(node.query !== undefined && { reads: namesIn(node.query) }),
        from: Boolean(node.is_from),
        format,
        ...(text('delimiter') !== undefined && { delimiter: text('delimiter') }),
        ...(text('null') !== undefined && { null: text('null') }),
        ...(text('quote') !== undefined && { quote: text('quote') }),
        ...(text('escape') !== undefined && { escape: text('escape') }),
        header: options.has('header') && headerChoice(options.get('header')),
        ...(options.has('force_null') && { forceNull: columnList(options.get('force_null')) }),
        ...(options.has('force_not_null') && { forceNotNull: columnList(options.get('force_not_null')) }),
        ...(text('encoding') !== undefined && { encoding: text('encoding') }),
    };
}
/** A constant's text (a string, number or boolean, as a DefElem value is read), undefined for any other expression. */
function constantValue(n) {
    const typed = nodeType(n);
    if (typed?.[0] !== 'A_Const')
        return optionText(n);
    const constant = typed[1];
    if ('sval' in constant)
        return optionText({ String: constant.sval });
    if ('ival' in constant)
        return optionText({ Integer: constant.ival });
    if ('fval' in constant)
        return optionText({ Float: constant.fval });
    if ('boolval' in constant)
        return optionText({ Boolean: constant.boolval });
    return undefined;
}
/** An option's value as PostgreSQL's defGetString gives it. */
function optionText(arg) {
    const typed = nodeType(arg);
    if (!typed)
        return undefined;
    const [type, value] = typed;
    if (type === 'String')
        return String(value.sval ?? '');
    if (type === 'Integer')
        return String(value.ival ?? 0);
    if (type === 'Float')
        return String(value.fval ?? '');
    if (type === 'Boolean')
        return value.boolval ? 'true' : 'false';
    return undefined;
}
/**
 * HEADER as defGetCopyHeaderChoice reads it: no value, `true`, `on`, `1` and `match` (COPY FROM checks the
 * names) mean a header line; `false`, `off` and `0` none. Anything else PostgreSQL refuses: taken as a
 * header, whose line COPY TO checks against the column names before passing it unmasked.
 */
function headerChoice(arg) {
    if (arg === undefined)
        return true;
    if (nodeType(arg)?.[0] === 'Integer')
        return (nodeType(arg)[1].ival ?? 0) !== 0;
    const value = optionText(arg)?.toLowerCase();
    return !(value === 'false' || value === 'off');
}
const listOf = (arg) => (nodeType(arg)?.[1].items ?? []).map((i) => stringOf(i) ?? '');
/** The tables a tree reads (RangeVar, with their aliases) and the names its column references use. */
function namesIn(tree) {
    const tables = [];
    const aliases = [];
    const names = [];
    const visitNode = (n) => {
        if (!n || typeof n !== 'object')
            return;
        if (Array.isArray(n))
            return n.forEach(visitNode);
        const range = n.RangeVar;
        if (range?.relname) {
            tables.push(range.schemaname ? `${range.schemaname}.${range.relname}` : range.relname);
            aliases.push(range.alias?.aliasname ?? range.relname);
        }
        const ref = n.ColumnRef;
        if (ref?.fields) {
            const last = ref.fields.at(-1);
            names.push(last.A_Star !== undefined ? '*' : (last.String?.sval ?? '*'));
        }
        Object.values(n).forEach(visitNode);
    };
    visitNode(tree);
    return { tables, aliases, names };
}
/** Whether EXPLAIN's options run the statement: ANALYZE with no value or a true one (defGetBoolean). */
function explainAnalyzes(options) {
    return (options ?? []).some((o) => {
        const def = o.DefElem;
        if (def?.defname?.toLowerCase() !== 'analyze')
            return false;
        if (def.arg === undefined)
            return true;
        const value = optionText(def.arg)?.toLowerCase();
        return !(value === 'false' || value === 'off' || value === '0');
    });
}
/** Node types whose classes do not depend on their content, and whether their children count too. */
const FIXED = {
    TruncateStmt: [['truncate', 'write'], 'descend'],
    AlterSystemStmt: [['alter_system', 'write'], 'skip'],
    GrantStmt: [['grant', 'write'], 'skip'],
    GrantRoleStmt: [['grant', 'write'], 'skip'],
    AlterDefaultPrivilegesStmt: [['grant', 'write'], 'skip'],
    ReassignOwnedStmt: [['grant', 'write'], 'skip'],
    CreateRoleStmt: [['create', 'ddl', 'grant', 'write'], 'skip'],
    AlterRoleStmt: [['alter', 'ddl', 'grant', 'write'], 'skip'],
    AlterRoleSetStmt: [['alter', 'ddl', 'grant', 'write'], 'skip'],
    // A procedure can do anything; its arguments are still looked at.
    CallStmt: [['unknown', 'write'], 'descend'],
    LoadStmt: [['dangerous_function', 'write'], 'skip'],
    VacuumStmt: [['maintenance', 'write'], 'skip'],
    ClusterStmt: [['maintenance', 'write'], 'skip'],
    ReindexStmt: [['maintenance', 'write'], 'skip'],
    CheckPointStmt: [['maintenance', 'write'], 'skip'],
    RefreshMatViewStmt: [['maintenance', 'write'], 'skip'],
    LockStmt: [['lock', 'write'], 'skip'],
    ListenStmt: [['notify'], 'skip'],
    UnlistenStmt: [['notify'], 'skip'],
    NotifyStmt: [['notify'], 'skip'],
    VariableShowStmt: [['session'], 'skip'],
    DiscardStmt: [['session'], 'skip'],
    FetchStmt: [['session'], 'skip'],
    ClosePortalStmt: [['session'], 'skip'],
    ConstraintsSetStmt: [['session'], 'skip'],
    DeclareCursorStmt: [['read'], 'descend'],
};
/** The classes a node type contributes by itself, before its children are visited. */
function visit(type, node, c) {
    const fixed = FIXED[type];
    if (fixed) {
        c.add(...fixed[0]);
        return fixed[1];
    }
    switch (type) {
        case 'SelectStmt':
            c.add('read');
            if (node.intoClause)
                c.add('create', 'ddl', 'write');
            return 'descend';
        case 'MergeStmt':
            c.add('merge', 'write', ...mergeActionClasses(node, c));
            return 'descend';
        case 'InsertStmt': {
            c.add('insert', 'write');
            const conflict = node.onConflictClause;
            if (conflict?.action === 'ONCONFLICT_UPDATE')
                c.add('update', ...(conflictUnrestricted(node, c) ? ['update_without_where'] : []));
            return 'descend';
        }
        case 'UpdateStmt':
            c.add('update', 'write');
            if (unrestricted(node, node.fromClause, c))
                c.add('update_without_where');
            return 'descend';
        case 'DeleteStmt':
            c.add('delete', 'write');
            if (unrestricted(node, node.usingClause, c))
                c.add('delete_without_where');
            return 'descend';
        case 'ExplainStmt':
            c.add('read');
            if (node.options)
                c.readsValue = true;
            return explainAnalyzes(node.options) ? 'descend' : 'skip';
        case 'CopyStmt':
            c.add(node.is_from ? 'copy_from' : 'copy_to', node.is_from ? 'write' : 'read');
            if (node.is_from)
                c.add('insert');
            if (node.is_program || node.filename)
                c.add('copy_program');
            c.copies.push(copySpec(node, c));
            return 'descend';
        case 'CreateFunctionStmt':
            // Defining a function runs nothing; its body, code in a string, makes the text its own shape.
            c.add('create', 'ddl', 'write');
            c.readsValue = true;
            return 'skip';
        case 'TransactionStmt':
            c.add('transaction');
            // BEGIN READ WRITE lifts a read-only default as SET TRANSACTION READ WRITE does.
            for (const o of node.options ?? []) {
                const def = o.DefElem;
                if (def?.defname)
                    c.add(...settingClasses(def.defname, constantValue(def.arg), c).filter((k) => k !== 'session'));
            }
            return 'skip';
        case 'VariableSetStmt':
            if (node.kind === 'VAR_SET_MULTI') {
                // SET TRANSACTION READ WRITE and SET SESSION CHARACTERISTICS set transaction_read_only and the like.
                for (const a of node.args ?? []) {
                    const def = a.DefElem;
                    if (def?.defname)
                        c.add(...settingClasses(def.defname, constantValue(def.arg), c));
                }
            }
            else
                c.add(...(resets(node, c) ? ['session'] : settingClasses(String(node.name ?? ''), constantValue(node.args?.[0]), c)));
            return 'skip';
        case 'DoStmt':
            c.add('unknown', 'write');
            classifyDoBody(node, c);
            return 'skip';
        case 'PrepareStmt': {
            const inner = new Collector(c.prepared, c.parser);
            walkStatement(node.query, inner);
            const name = String(node.name);
            c.prepares.set(name, either(c.prepares.get(name), finish(inner, ['PREPARE'])));
            c.add('session');
            c.cacheable = false;
            return 'skip';
        }
        case 'ExecuteStmt': {
            c.cacheable = false;
            const name = String(node.name);
            const here = c.prepares.get(name);
            const prepared = here ? either(c.prepared.get(name), here) : c.prepared.get(name);
            if (prepared)
                c.add(...prepared.classes);
            else
                c.add('unknown', 'write');
            return 'descend';
        }
        case 'DeallocateStmt':
            c.add('session');
            c.cacheable = false;
            return 'skip';
        case 'FuncCall': {
            const name = funcName(node);
            c.add(...functionClasses(name));
            if (SQL_RUNNING_FUNCTIONS.has(name)) {
                // Their SQL is code in a string: what is derived from it holds for this text alone.
                c.add('unknown', 'write');
                c.readsValue = true;
            }
            if (name === 'set_config') {
                // What set_config changes depends on its first argument's value; a computed one may be anything.
                c.readsValue = true;
                const [name, value] = (node.args ?? []).map(constantValue);
                c.add(...(name === undefined ? ['set_role', 'integrity_setting', 'write'] : settingClasses(name, value, c)));
            }
            return 'descend';
        }
        default:
            if (/^Drop/.test(type))
                c.add('drop', 'ddl', 'write');
            else if (/^(Create|Define)|^(IndexStmt|ViewStmt|RuleStmt|CompositeTypeStmt|ImportForeignSchemaStmt)$/.test(type))
                c.add('create', 'ddl', 'write');
            else if (/^Alter|^(RenameStmt|CommentStmt|SecLabelStmt)$/.test(type))
                c.add('alter', 'ddl', 'write');
            else if (/Stmt$/.test(type))
                c.add('unknown', 'write');
            return 'descend';
    }
}
/**
 * Whether a SET puts a role setting back as it was: RESET, SET … TO DEFAULT (SET SESSION AUTHORIZATION
 * DEFAULT too) and SET ROLE NONE, as RESET ROLE does. Settings of other kinds keep their own classes.
 */
function resets(node, c) {
    if (node.kind === 'VAR_RESET' || node.kind === 'VAR_RESET_ALL' || node.kind === 'VAR_SET_DEFAULT')
        return true;
    if (String(node.name).toLowerCase() !== 'role' || node.kind !== 'VAR_SET_VALUE')
        return false;
    c.readsValue = true;
    const args = node.args ?? [];
    return args.length === 1 && args[0].A_Const?.sval?.sval === 'none';
}
/** Walks one statement's tree, its CTEs known (a DML statement in one may read a sibling). */
function walkStatement(stmt, c) {
    c.ctes = ctesIn(stmt);
    walk(stmt, c);
}
function walk(n, c) {
    if (!n || typeof n !== 'object')
        return;
    if (Array.isArray(n)) {
        for (const item of n)
            walk(item, c);
        return;
    }
    const typed = nodeType(n);
    if (typed) {
        if (visit(typed[0], typed[1], c) === 'skip')
            return;
        walk(typed[1], c);
        return;
    }
    for (const v of Object.values(n))
        walk(v, c);
}
/**
 * Static SQL inside a DO block counts; EXECUTE of a computed string is already `unknown`. The body is
 * parsed inside a dollar quote whose tag it does not hold, so no body can end the quote early; a body
 * the PL/pgSQL parser rejects is `unparseable`, never passed over.
 */
function classifyDoBody(node, c) {
    c.readsValue = true;
    const body = (node.args ?? [])
        .map((a) => a.DefElem)
        .find((d) => d?.defname === 'as')?.arg?.String?.sval;
    const language = (node.args ?? [])
        .map((a) => a.DefElem)
        .find((d) => d?.defname === 'language')?.arg?.String?.sval;
    if (body === undefined || (language && language.toLowerCase() !== 'plpgsql'))
        return;
    let tag = 'governed_do';
    for (let n = 0; body.includes(`$${tag}$`); n++)
        tag = `governed_do_${n}`;
    let tree;
    try {
        tree = c.parser.parsePlPgSQL(`CREATE FUNCTION governed_do() RETURNS void LANGUAGE plpgsql AS $${tag}$${body}$${tag}$`);
    }
    catch {
        c.add('unparseable');
        return;
    }
    const queries = [];
    const collect = (n) => {
        if (!n || typeof n !== 'object')
            return;
        if (Array.isArray(n))
            return n.forEach(collect);
        const expr = n.PLpgSQL_expr;
        if (expr?.query)
            queries.push({ query: expr.query, expression: expr.parseMode !== 0 });
        Object.values(n).forEach(collect);
    };
    collect(tree);
    for (const { query, expression } of queries) {
        try {
            walkStatement(c.parser.parse(expression ? `SELECT ${query}` : query), c);
        }
        catch {
            c.add('unknown');
        }
    }
}
/** What a name PREPAREd as `a` and then as `b` may run: the classes of both. */
function either(a, b) {
    if (!a)
        return b;
    return { ...b, classes: new Set([...a.classes, ...b.classes]), writes: a.writes || b.writes };
}
function finish(c, commands) {
    const writes = [...c.classes].some((k) => WRITE_CLASSES.has(k));
    return {
        classes: c.classes,
        writes,
        commands,
        ...(c.prepares.size && { prepares: c.prepares }),
        ...(c.copies.length && { copies: c.copies }),
        ...(!c.cacheable && { perSession: true }),
    };
}
function commandOf(stmt) {
    const typed = nodeType(stmt);
    if (!typed)
        return 'UNKNOWN';
    return typed[0].replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}
/**
 * Statement shapes longer than this are classified each time rather than remembered: the cache counts
 * entries, and a few thousand multi-megabyte shapes would hold gigabytes.
 */
const MAX_CACHED_KEY = 16 * 1024;
/** One classifier per connection: it knows that connection's PREPAREd statements. */
class SqlClassifier {
    #shared;
    /** Set by the session, which tracks what the target holds; EXECUTE of a name not known here is `unknown`. */
    prepared = () => undefined;
    #prepared = { get: (name) => this.prepared(name) };
    constructor(shared) {
        this.#shared = shared;
    }
    get parser() {
        return this.#shared.parser;
    }
    /**
     * Whether two texts provably classify the same, so that what is cached for one may serve the other:
     * the same shape, on a classification that depends on no session state (see `shape`).
     */
    classifiesSame(a, b) {
        const first = this.classify(a);
        const second = this.classify(b);
        return first.shape !== undefined && !first.perSession && !second.perSession && first.shape === second.shape;
    }
    classify(sql) {
        const { cache, parser } = this.#shared;
        // A known shape differs from a statement parsed before only in its constants' values.
        const shape = statementShape(sql);
        const known = shape === undefined ? undefined : cache.get(shape);
        if (known)
            return known;
        const tooCostly = lexerCostProblem(sql);
        if (tooCostly)
            return syntaxError(new Error(tooCostly));
        let key;
        try {
            key = parser.normalize(sql);
        }
        catch (e) {
            return syntaxError(e);
        }
        const cached = cache.get(key);
        if (cached) {
            if (shape !== undefined)
                cache.set(shape, cached);
            return cached;
        }
        let tree;
        try {
            tree = parser.parse(sql);
        }
        catch (e) {
            return syntaxError(e);
        }
        const c = new Collector(this.#prepared, parser);
        const stmts = tree.stmts ?? [];
        for (const s of stmts)
            walkStatement(s.stmt, c);
        const result = { ...finish(c, stmts.map((s) => commandOf(s.stmt))), shape: c.readsValue ? exactShape(sql) : key };
        // Texts of one normalized form differ in constants only: they classify the same unless a value was read.
        if (c.cacheable && !c.readsValue && key.length <= MAX_CACHED_KEY) {
            cache.set(key, result);
            if (shape !== undefined)
                cache.set(shape, result);
        }
        return result;
    }
}
/** The shape of a text whose classification read a constant's value: the text itself (no normalized text starts with `=`). */
const exactShape = (sql) => `=${sql}`;
/**
 * PostgreSQL's lexer rescans a run of operator characters once for each token it cuts from it, so its
 * time grows with the square of the run: `SELECT 1` and 30,000 `/*` take seconds, and the parser runs
 * on the gateway's one thread. Long runs are therefore counted before parsing, conservatively (inside
 * strings and comments too), and a statement whose runs would cost more than one run of
 * MAX_OPERATOR_RUN characters (some tens of milliseconds) is refused unparsed.
 */
const MAX_OPERATOR_RUN = 2_000;
/** Runs up to this long cost about their length; only the square of longer ones counts. */
const SHORT_RUN = 64;
const OPERATOR_CHARS = new Uint8Array(128);
for (const c of '~!@#^&|`?+-*/%<>=')
    OPERATOR_CHARS[c.charCodeAt(0)] = 1;
function lexerCostProblem(sql) {
    let cost = 0;
    let longest = 0;
    let run = 0;
    for (let i = 0; i <= sql.length; i++) {
        const code = i < sql.length ? sql.charCodeAt(i) : 0;
        if (code < 128 && OPERATOR_CHARS[code]) {
            run++;
            continue;
        }
        if (run > SHORT_RUN)
            cost += run * run;
        longest = Math.max(longest, run);
        run = 0;
    }
    if (cost <= MAX_OPERATOR_RUN * MAX_OPERATOR_RUN)
        return undefined;
    return `the statement holds runs of operator characters (such as + - * / < >) up to ${longest} long, more than the gateway parses (${MAX_OPERATOR_RUN} in all); parsing them takes time that grows with the square of their length`;
}
function syntaxError(e) {
    return { classes: new Set(['unparseable']), writes: true, commands: ['UNPARSEABLE'], syntaxError: e.message };
}


/***/ }),

/***/ 76409:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   i: () => (/* binding */ SqlParser)
/* harmony export */ });
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(51455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var libpg_query_wasm_libpg_query_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(53995);
/* harmony import */ var libpg_query_wasm_libpg_query_js__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(libpg_query_wasm_libpg_query_js__WEBPACK_IMPORTED_MODULE_1__);


const wasm = globalThis.WebAssembly;
/**
 * Past this heap size the parser's WebAssembly instance is replaced by a fresh one. The heap starts at
 * 128 MB (reserved, resident only where touched) and grows only when one statement needs more.
 */
const DEFAULT_MAX_HEAP_BYTES = 160 << 20;
/**
 * libpg-query's WebAssembly build keeps a few KB of its heap with every normalization, even of the same
 * statement (18.1.5: 20,000 normalizations add 80 MB of resident memory; parse and scan keep none), and
 * the heap's size does not show it. After this many the instance is replaced, which bounds that part.
 */
const DEFAULT_NORMALIZATIONS_PER_INSTANCE = 2_000;
/**
 * PostgreSQL's own parser (libpg-query, WebAssembly), in an instance this object owns. A WebAssembly
 * heap never shrinks: once a huge statement has grown it past a bound, a fresh instance is made from
 * the compiled module in the background and takes over, and the old one is left to the garbage
 * collector. Calls stay synchronous: until the new instance is ready, the old one keeps answering.
 *
 * V8 compiles the module as it always does (baseline code first, hot functions optimised later).
 * Compiling with the optimising compiler only (`--no-liftoff`) kept the process 50–100 MB smaller
 * and parsed three times faster once warm, but compiles each function on its first call on the main
 * thread: the first statement waited 1.9 s, and every session with it.
 */
class SqlParser {
    /** Where the module found its WebAssembly file (beside the bundle, or in node_modules). */
    #wasmPath;
    #compiled;
    #maxHeapBytes;
    #maxNormalizations;
    /** Normalizations by the current instance. */
    #normalizations = 0;
    #instance;
    #replacing;
    #recycled = 0;
    constructor(wasmPath, instance, options) {
        this.#wasmPath = wasmPath;
        this.#instance = instance;
        this.#maxHeapBytes = options.maxHeapBytes ?? DEFAULT_MAX_HEAP_BYTES;
        this.#maxNormalizations = options.maxNormalizations ?? DEFAULT_NORMALIZATIONS_PER_INSTANCE;
    }
    static async load(options = {}) {
        let wasmPath = '';
        const instance = await libpg_query_wasm_libpg_query_js__WEBPACK_IMPORTED_MODULE_1___default()({
            locateFile: (file, directory) => (wasmPath = directory + file),
        });
        return new SqlParser(wasmPath, instance, options);
    }
    /** The current instance's heap (reserved whole at start, 128 MB; it grows only for huge statements). */
    get heapBytes() {
        return this.#instance.HEAPU8.length;
    }
    /** How many times the instance was replaced. */
    get recycled() {
        return this.#recycled;
    }
    /** The parse tree, as libpg-query's JSON; throws the parser's message on a syntax error. */
    parse(sql) {
        return this.#call(sql, (m, ptr) => {
            const result = m._wasm_parse_query_raw(ptr);
            if (!result)
                throw new Error('the SQL parser could not allocate memory');
            try {
                const error = m.getValue(result + 8, 'i32');
                if (error)
                    throw new Error(m.UTF8ToString(m.getValue(error, 'i32')) || 'syntax error');
                return JSON.parse(m.UTF8ToString(m.getValue(result, 'i32')));
            }
            finally {
                m._wasm_free_parse_result(result);
            }
        });
    }
    /** The text with its constants replaced by `$n`, by PostgreSQL's own lexer. */
    normalize(sql) {
        this.#normalizations++;
        return this.#call(sql, (m, ptr) => stringResult(m, m._wasm_normalize_query(ptr)));
    }
    parsePlPgSQL(sql) {
        return this.#call(sql, (m, ptr) => {
            const text = stringResult(m, m._wasm_parse_plpgsql(ptr), /^(?!\{)/);
            return JSON.parse(text);
        });
    }
    scan(sql) {
        return this.#call(sql, (m, ptr) => JSON.parse(stringResult(m, m._wasm_scan(ptr))));
    }
    /** Replaces the instance now; resolves once the new one answers. */
    recycle() {
        this.#compiled ??= (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.readFile)(this.#wasmPath).then((bytes) => wasm.compile(bytes));
        this.#replacing ??= this.#compiled.then(instantiate).then((fresh) => {
            this.#instance = fresh;
            this.#normalizations = 0;
            this.#recycled++;
            this.#replacing = undefined;
        }, () => {
            // The old instance keeps answering; the next call past the bound tries again.
            this.#compiled = undefined;
            this.#replacing = undefined;
        });
        return this.#replacing;
    }
    #call(sql, use) {
        const m = this.#instance;
        const length = m.lengthBytesUTF8(sql) + 1;
        const ptr = m._malloc(length);
        try {
            m.stringToUTF8(sql, ptr, length);
            return use(m, ptr);
        }
        finally {
            m._free(ptr);
            if ((m.HEAPU8.length > this.#maxHeapBytes || this.#normalizations >= this.#maxNormalizations) && m === this.#instance)
                void this.recycle();
        }
    }
}
/** Reads and frees a string result; results matching `failure` (libpg-query's error texts) are thrown. */
function stringResult(m, ptr, failure = /^(syntax error|deparse error|ERROR)/) {
    try {
        const text = m.UTF8ToString(ptr);
        if (failure.test(text))
            throw new Error(text);
        return text;
    }
    finally {
        if (ptr)
            m._wasm_free_string(ptr);
    }
}
function instantiate(compiled) {
    return libpg_query_wasm_libpg_query_js__WEBPACK_IMPORTED_MODULE_1___default()({
        instantiateWasm(imports, receive) {
            void wasm.instantiate(compiled, imports).then(receive);
            return {};
        },
    });
}


/***/ }),

/***/ 88155:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   E: () => (/* binding */ parseDuration)
/* harmony export */ });
/** Milliseconds in a duration the policy schema has already checked (`500ms`, `30s`, `5m`, `1h`). */
function parseDuration(text) {
    const m = /^(\d+)(ms|s|m|h)$/.exec(text);
    return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]];
}


/***/ }),

/***/ 25256:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   MF: () => (/* binding */ GovernError),
/* harmony export */   O4: () => (/* binding */ ErrorCode),
/* harmony export */   Vw: () => (/* binding */ formatProblem),
/* harmony export */   WR: () => (/* binding */ TokenRejectedError),
/* harmony export */   pn: () => (/* binding */ PolicyError)
/* harmony export */ });
/**
 * Every error govern reports has a stable code and a one-sentence message that names the thing to fix.
 * The codes are listed in the README; keep the two in step.
 */
const ErrorCode = {
    Usage: 'GOVERN_USAGE',
    PolicyInvalid: 'GOVERN_POLICY_INVALID',
    PolicyNotFound: 'GOVERN_POLICY_NOT_FOUND',
    TokenMissing: 'GOVERN_TOKEN_MISSING',
    TokenRejected: 'GOVERN_TOKEN_REJECTED',
    IssuerUnreachable: 'GOVERN_ISSUER_UNREACHABLE',
    AdapterUnavailable: 'GOVERN_ADAPTER_UNAVAILABLE',
    GatewayNotRunning: 'GOVERN_GATEWAY_NOT_RUNNING',
    GatewayStartFailed: 'GOVERN_GATEWAY_START_FAILED',
    ControlFailed: 'GOVERN_CONTROL_FAILED',
    RecordingFailed: 'GOVERN_RECORDING_FAILED',
    ApprovalNotFound: 'GOVERN_APPROVAL_NOT_FOUND',
    BundleNotFound: 'GOVERN_BUNDLE_NOT_FOUND',
};
class GovernError extends Error {
    code;
    constructor(code, message, options) {
        super(message, options);
        this.name = 'GovernError';
        this.code = code;
    }
}
class PolicyError extends GovernError {
    problems;
    constructor(problems) {
        const sorted = [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
        super(ErrorCode.PolicyInvalid, sorted.map(formatProblem).join('\n'));
        this.problems = sorted;
    }
}
function formatProblem(p) {
    return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}
/** The token check that failed, for the manifest-free early exit and for tests. */
class TokenRejectedError extends GovernError {
    check;
    constructor(check, message, options) {
        super(ErrorCode.TokenRejected, `OIDC token rejected: ${message}`, options);
        this.check = check;
    }
}


/***/ }),

/***/ 56997:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   SO: () => (/* binding */ compileGlob),
/* harmony export */   fU: () => (/* binding */ globMatcher),
/* harmony export */   go: () => (/* binding */ GlobSyntaxError),
/* harmony export */   uh: () => (/* binding */ hasGlobSyntax)
/* harmony export */ });
/**
 * Globs for claims, paths and column names: `*` matches within one segment, `**` across segments,
 * `?` one character, `{a,b}` alternatives. Anything else is literal, so a claim such as
 * `refs/heads/release-1.2` needs no escaping.
 */
class GlobSyntaxError extends Error {
}
function hasGlobSyntax(pattern) {
    return /[*?{}]/.test(pattern);
}
function compileGlob(pattern, { separator }) {
    const notSep = separator === '/' ? '[^/]' : '[^.]';
    let out = '';
    let inBraces = false;
    for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === '*') {
            let run = 1;
            while (pattern[i + run] === '*')
                run++;
            if (run > 2)
                throw new GlobSyntaxError(`"${pattern}" has ${run} stars in a row; use * or **`);
            out += run === 2 ? '.*' : `${notSep}*`;
            i += run - 1;
        }
        else if (c === '?') {
            out += notSep;
        }
        else if (c === '{') {
            if (inBraces)
                throw new GlobSyntaxError(`"${pattern}" nests braces, which globs do not support`);
            inBraces = true;
            out += '(?:';
        }
        else if (c === '}') {
            if (!inBraces)
                throw new GlobSyntaxError(`"${pattern}" closes a brace it never opened`);
            inBraces = false;
            out += ')';
        }
        else if (c === ',' && inBraces) {
            out += '|';
        }
        else {
            out += c.replace(/[\\^$.|+()[\]]/g, '\\$&');
        }
    }
    if (inBraces)
        throw new GlobSyntaxError(`"${pattern}" opens a brace it never closes`);
    return new RegExp(`^${out}$`, 's');
}
/** A matcher for one pattern: exact comparison when the pattern has no glob syntax. */
function globMatcher(pattern, options) {
    if (!hasGlobSyntax(pattern))
        return (value) => value === pattern;
    const re = compileGlob(pattern, options);
    return (value) => re.test(value);
}


/***/ }),

/***/ 39222:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   F9: () => (/* binding */ evaluateCondition),
/* harmony export */   q3: () => (/* binding */ JsonSyntaxError),
/* harmony export */   q8: () => (/* binding */ forEachSelected),
/* harmony export */   vs: () => (/* binding */ compileCondition),
/* harmony export */   xN: () => (/* binding */ compileSelector)
/* harmony export */ });
/**
 * The two small JSON languages of the policy: selectors for `mask.json` ($.a.b, $..ssn, $.items[*].card)
 * and conditions for `approve.json` / `block.json` (payment_amount > 1000 and currency == "EUR").
 * Both are compiled once when the policy loads; a syntax error is a policy error.
 */
class JsonSyntaxError extends Error {
}
function compileSelector(source) {
    if (!source.startsWith('$'))
        throw new JsonSyntaxError(`selector "${source}" must start with $`);
    const steps = [];
    const re = /\.\.([A-Za-z_][\w-]*|\*)|\.([A-Za-z_][\w-]*)|\.\*|\[\*\]|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;
    re.lastIndex = 1;
    while (re.lastIndex < source.length) {
        const at = re.lastIndex;
        const m = re.exec(source);
        if (!m)
            throw new JsonSyntaxError(`selector "${source}" cannot be read at character ${at + 1}`);
        if (m[1] !== undefined)
            steps.push({ kind: 'descend', key: m[1] });
        else if (m[2] !== undefined)
            steps.push({ kind: 'child', key: m[2] });
        else if (m[3] !== undefined)
            steps.push({ kind: 'child', key: Number(m[3]) });
        else if (m[4] !== undefined || m[5] !== undefined)
            steps.push({ kind: 'child', key: (m[4] ?? m[5]) });
        else
            steps.push({ kind: 'any' });
    }
    if (steps.length === 0)
        throw new JsonSyntaxError(`selector "${source}" selects the whole document; name a field`);
    return { source, steps };
}
const isContainer = (v) => typeof v === 'object' && v !== null;
function childKeys(v) {
    return Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
}
/**
 * Calls `visit(parent, key)` for every place the selector reaches, so the caller can replace the value
 * in place. Cyclic input cannot occur: the values come from JSON.parse.
 */
function forEachSelected(root, selector, visit) {
    const walk = (value, stepIndex, parent, key) => {
        if (stepIndex === selector.steps.length) {
            if (parent !== undefined)
                visit(parent, key);
            return;
        }
        if (!isContainer(value))
            return;
        const step = selector.steps[stepIndex];
        if (step.kind === 'child') {
            if (Object.prototype.hasOwnProperty.call(value, step.key)) {
                walk(value[step.key], stepIndex + 1, value, step.key);
            }
        }
        else if (step.kind === 'any') {
            for (const k of childKeys(value))
                walk(value[k], stepIndex + 1, value, k);
        }
        else {
            for (const k of childKeys(value)) {
                const child = value[k];
                if (step.key === '*' || k === step.key)
                    walk(child, stepIndex + 1, value, k);
                walk(child, stepIndex, value, k);
            }
        }
    };
    walk(root, 0, undefined, '');
}
const TOKEN = /\s*(?:(\d+(?:\.\d+)?)|"((?:[^"\\]|\\.)*)"|'([^']*)'|(==|!=|>=|<=|>|<|\(|\))|([A-Za-z_$][\w$]*(?:(?:\.[A-Za-z_][\w]*)|\[\d+\])*))/y;
function tokenize(source) {
    const tokens = [];
    TOKEN.lastIndex = 0;
    while (TOKEN.lastIndex < source.length) {
        if (/^\s*$/.test(source.slice(TOKEN.lastIndex)))
            break;
        const at = TOKEN.lastIndex;
        const m = TOKEN.exec(source);
        if (!m)
            throw new JsonSyntaxError(`condition "${source}" cannot be read at character ${at + 1}`);
        if (m[1] !== undefined)
            tokens.push({ type: 'num', value: Number(m[1]) });
        else if (m[2] !== undefined)
            tokens.push({ type: 'str', value: JSON.parse(`"${m[2]}"`) });
        else if (m[3] !== undefined)
            tokens.push({ type: 'str', value: m[3] });
        else if (m[4] !== undefined)
            tokens.push({ type: 'op', value: m[4] });
        else
            tokens.push({ type: 'word', value: m[5] });
    }
    return tokens;
}
function parsePath(word) {
    const body = word.startsWith('$') ? word.slice(1).replace(/^\./, '') : word;
    const keys = [];
    for (const m of body.matchAll(/([A-Za-z_]\w*)|\[(\d+)\]/g))
        keys.push(m[1] ?? Number(m[2]));
    return keys;
}
function compileCondition(source) {
    const tokens = tokenize(source);
    let i = 0;
    const fail = (what) => {
        throw new JsonSyntaxError(`condition "${source}": ${what}`);
    };
    const peekWord = (w) => tokens[i]?.type === 'word' && tokens[i].value === w;
    const operand = () => {
        const t = tokens[i++];
        if (!t)
            return fail('ends where a value was expected');
        if (t.type === 'num' || t.type === 'str')
            return { kind: 'literal', value: t.value };
        if (t.type === 'word') {
            if (t.value === 'true' || t.value === 'false')
                return { kind: 'literal', value: t.value === 'true' };
            if (t.value === 'null')
                return { kind: 'literal', value: null };
            if (t.value === 'and' || t.value === 'or' || t.value === 'not')
                return fail(`"${t.value}" stands where a value was expected`);
            return { kind: 'path', keys: parsePath(t.value) };
        }
        return fail(`"${t.value}" stands where a value was expected`);
    };
    const primary = () => {
        if (peekWord('not')) {
            i++;
            return { kind: 'not', operand: primary() };
        }
        if (tokens[i]?.type === 'op' && tokens[i].value === '(') {
            i++;
            const inner = or();
            if (!(tokens[i]?.type === 'op' && tokens[i].value === ')'))
                fail('a parenthesis is not closed');
            i++;
            return inner;
        }
        const left = operand();
        const t = tokens[i];
        if (t?.type === 'op' && t.value !== '(' && t.value !== ')') {
            i++;
            return { kind: 'cmp', op: t.value, left, right: operand() };
        }
        return { kind: 'truthy', operand: left };
    };
    // `and` binds tighter than `or`: each level chains operands of the level below.
    const chain = (word, operandOf) => {
        let left = operandOf();
        while (peekWord(word)) {
            i++;
            left = { kind: word, left, right: operandOf() };
        }
        return left;
    };
    const and = () => chain('and', primary);
    const or = () => chain('or', and);
    if (tokens.length === 0)
        fail('is empty');
    const expr = or();
    if (i < tokens.length)
        fail(`unexpected "${String(tokens[i].value)}"`);
    return { source, expr };
}
/**
 * Every value a path reaches: an array on the way (a top-level batch, a list of items) is entered, so
 * `amount` reaches the amount of each object in `[{"amount": 1}, {"amount": 5000}]`.
 */
function resolve(operand, body) {
    if (operand.kind === 'literal')
        return [operand.value];
    let values = [body];
    for (const k of operand.keys) {
        const next = [];
        const step = (v) => {
            if (!isContainer(v))
                return;
            if (Array.isArray(v) && typeof k === 'string')
                return v.forEach(step);
            if (Object.prototype.hasOwnProperty.call(v, k))
                next.push(v[k]);
        };
        values.forEach(step);
        values = next;
    }
    // A path that ends on an array compares each of its elements too.
    return values.flatMap((v) => (Array.isArray(v) ? [v, ...v] : [v]));
}
/** A number, or a string a lenient reader takes for one ("5000", " 5e3 "), as a number; anything else undefined. */
function numeric(v) {
    if (typeof v === 'number')
        return v;
    if (typeof v !== 'string' || v.trim() === '')
        return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
}
/** Numbers and numeric strings compare as numbers (targets read "5000" as 5000); other values by type. */
function compare(op, a, b) {
    const x = numeric(a);
    const y = numeric(b);
    if (x !== undefined && y !== undefined && (typeof a === 'number' || typeof b === 'number'))
        return ordered(op, x, y);
    if (op === '==')
        return a === b;
    if (op === '!=')
        return a !== b;
    if (typeof a === 'string' && typeof b === 'string')
        return ordered(op, a, b);
    return false;
}
function ordered(op, x, y) {
    switch (op) {
        case '==':
            return x === y;
        case '!=':
            return x !== y;
        case '>':
            return x > y;
        case '>=':
            return x >= y;
        case '<':
            return x < y;
        case '<=':
            return x <= y;
    }
}
function evaluateCondition(condition, body) {
    const run = (e) => {
        switch (e.kind) {
            case 'or':
                return run(e.left) || run(e.right);
            case 'and':
                return run(e.left) && run(e.right);
            case 'not':
                return !run(e.operand);
            case 'cmp': {
                // True when it holds for some value each side reaches.
                const rights = resolve(e.right, body);
                return resolve(e.left, body).some((l) => rights.some((r) => compare(e.op, l, r)));
            }
            case 'truthy':
                return resolve(e.operand, body).some(Boolean);
        }
    };
    return run(condition.expr);
}


/***/ }),

/***/ 80306:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Q: () => (/* binding */ LruCache)
/* harmony export */ });
/**
 * A map of bounded size that forgets its least recently used entries first, in two generations: new
 * and used entries go to the current one; when it is full it becomes the previous one and the one
 * before is dropped whole. Nothing is ever iterated (evicting through a Map's iterator costs time in
 * proportion to the entries deleted before), so every call is O(1).
 */
class LruCache {
    #current = new Map();
    #previous = new Map();
    #generation;
    /** Holds at most `capacity` entries, and always the `capacity / 2` most recently used. */
    constructor(capacity) {
        this.#generation = Math.max(1, Math.floor(capacity / 2));
    }
    get size() {
        return this.#current.size + this.#previous.size;
    }
    get(key) {
        const value = this.#current.get(key);
        if (value !== undefined)
            return value;
        const old = this.#previous.get(key);
        if (old !== undefined) {
            this.#previous.delete(key);
            this.set(key, old);
        }
        return old;
    }
    set(key, value) {
        this.#previous.delete(key);
        this.#current.set(key, value);
        if (this.#current.size >= this.#generation) {
            this.#previous = this.#current;
            this.#current = new Map();
        }
    }
}


/***/ }),

/***/ 35640:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  main: () => (/* binding */ main)
});

// EXTERNAL MODULE: external "node:util"
var external_node_util_ = __webpack_require__(57975);
;// CONCATENATED MODULE: ./package.json
const package_namespaceObject = {"rE":"0.1.0"};
// EXTERNAL MODULE: ./runner-proxy/src/base/errors.ts
var errors = __webpack_require__(25256);
;// CONCATENATED MODULE: ./runner-proxy/src/base/logger.ts
function streamLogger(stream, { timestamps, now = Date.now }) {
    const prefix = () => (timestamps ? `${new Date(now()).toISOString()} govern` : 'govern');
    return {
        info: (m) => stream.write(`${prefix()}: ${m}\n`),
        warn: (m) => stream.write(`${prefix()}: warning: ${m}\n`),
    };
}

// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(48161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: external "node:v8"
var external_node_v8_ = __webpack_require__(78877);
;// CONCATENATED MODULE: ./runner-proxy/src/policy/protocol.ts
/** A key whose items are classes: an operation of a declaring protocol with one of them matches. */
function classCondition(key, description) {
    return {
        key,
        namesClasses: true,
        schema: ({ protocols, classes }) => ({ type: 'array', minItems: 1, items: { enum: classes }, description: description(protocols) }),
        matcher: (value, { protocols }) => {
            const named = new Set(value);
            return (op) => protocols.has(op.protocol) && [...op.classes].some((c) => named.has(c));
        },
    };
}
/** `sql:`: statement classes. A protocol whose operations are SQL statements declares this key. */
const sqlCondition = classCondition('sql', (protocols) => `Statement classes of ${protocols.join(' and ')}; a statement has every class of its worst effect.`);
/** The protocols a build serves, as their declarations say: what the policy's words mean. */
class ProtocolRegistry {
    declarations;
    names;
    /** Every condition key, with the protocols that declare it and the classes they list for it. */
    conditions;
    refusedUnlessAllowed;
    constructor(declarations) {
        this.declarations = declarations;
        this.names = declarations.map((d) => d.name);
        if (new Set(this.names).size !== this.names.length)
            throw new Error(`a protocol is registered twice: ${this.names.join(', ')}`);
        const conditions = new Map();
        for (const d of declarations) {
            for (const condition of d.conditions) {
                let entry = conditions.get(condition.key);
                if (!entry)
                    conditions.set(condition.key, (entry = { condition, protocols: new Set(), classes: [] }));
                if (entry.condition !== condition)
                    throw new Error(`protocols ${[...entry.protocols, d.name].join(' and ')} declare condition key ${condition.key} differently; share one declaration`);
                entry.protocols.add(d.name);
                for (const c of d.classes?.[condition.key] ?? [])
                    if (!entry.classes.includes(c))
                        entry.classes.push(c);
            }
        }
        this.conditions = conditions;
        this.refusedUnlessAllowed = new Set(declarations.flatMap((d) => d.refusedUnlessAllowed ?? []));
    }
    get(name) {
        return this.declarations.find((d) => d.name === name);
    }
}

// EXTERNAL MODULE: ./runner-proxy/src/core/http-match.ts
var http_match = __webpack_require__(19633);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/http/protocol.ts

const HTTP = 'http';
const UNKNOWN = 'unknown';
/** An http pattern; `exactCase` for what an allow rule lists (see pathMatcher). */
function httpMatcher(pattern, exactCase) {
    if (typeof pattern !== 'string')
        return (0,http_match/* requestMatcher */.QH)(pattern, exactCase);
    if (pattern === UNKNOWN)
        return (op) => op.protocol === HTTP && op.classes.has(UNKNOWN);
    const parts = pattern.split(/\s+/);
    const method = parts.find((p) => !p.startsWith('/'))?.toUpperCase();
    const path = parts.find((p) => p.startsWith('/'));
    const pathMatches = path ? (0,http_match/* pathMatcher */.kZ)([path], exactCase) : () => true;
    return (op) => op.protocol === HTTP && (!method || op.method === method) && pathMatches(op);
}
const patternsMatcher = (value, exactCase) => {
    const matchers = value.map((p) => httpMatcher(p, exactCase));
    return (op) => matchers.some((m) => m(op));
};
/** `http:` "METHOD /path/glob", "METHOD", "/path/glob", unknown, or a request pattern. */
const httpCondition = {
    key: 'http',
    schema: () => ({
        type: 'array',
        minItems: 1,
        items: {
            type: ['string', 'object'],
            minLength: 1,
            minProperties: 1,
            additionalProperties: false,
            properties: {
                host: { $ref: '#/definitions/stringOrList' },
                method: { $ref: '#/definitions/stringOrList' },
                path: { $ref: '#/definitions/stringOrList' },
                headers: { $ref: '#/definitions/httpValues' },
                query: { $ref: '#/definitions/httpValues' },
            },
        },
        description: '"METHOD /path/glob", "METHOD", "/path/glob", unknown, or a request pattern { host, method, path, headers, query } whose every key must match.',
    }),
    check: (value, path, checks) => value.map((pattern, i) => {
        if (typeof pattern !== 'string')
            return checks.requestPattern(pattern, [...path, i]);
        const glob = pattern.split(/\s+/).find((part) => part.startsWith('/'));
        if (glob)
            checks.glob(glob, '/', [...path, i]);
        return pattern;
    }),
    matcher: (value, { allows }) => patternsMatcher(value, allows),
    allowList: {
        noun: 'http requests',
        compile: (value) => ({ covers: (op) => op.protocol === HTTP, lists: patternsMatcher(value, true) }),
    },
};
/** HTTP and HTTPS in the policy's words; the adapter (./adapter.ts) is loaded only when a policy names it. */
const httpProtocol = {
    name: HTTP,
    settings: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: {
            url: { type: 'string' },
            headers: { type: 'object', additionalProperties: { type: 'string' } },
            ca: { type: 'string', description: "PEM of the CA that signs the target's certificate (https targets)." },
            reads: {
                type: 'object',
                additionalProperties: false,
                description: 'How the target reads what servers read differently. Unset, a request that depends on it is refused with 400; declared, rules see the request as the target reads it.',
                properties: {
                    empty_segments: { enum: ['refuse', 'merge', 'keep'], description: '// in a path (default refuse).' },
                    encoded_slashes: { enum: ['refuse', 'decode', 'keep'], description: '%2F, %5C and \\ in a path: read as / (decode) or as data (keep); default refuse.' },
                    path_parameters: { enum: ['refuse', 'strip', 'keep'], description: ';parameters in a segment: cut off (strip) or part of it (keep); default refuse.' },
                    path_case: {
                        enum: ['unknown', 'sensitive', 'insensitive'],
                        description: 'Whether the target routes paths with case (default unknown: rules that refuse or hold match without case, allow lists with it).',
                    },
                    method_case: { enum: ['refuse', 'insensitive'], description: 'A method not in upper case (default refuse).' },
                    method_override: {
                        enum: ['refuse', 'honour', 'ignore'],
                        description: 'X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override, _method in the query or a POST form: refused (default), the method rules see (honour), or passed as data (ignore).',
                    },
                },
            },
        },
    },
    conditions: [httpCondition],
};

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/mysql/protocol.ts

/** MySQL and MariaDB in the policy's words; the adapter (./adapter.ts) is loaded only when a policy names it. */
const mysqlProtocol = {
    name: 'mysql',
    settings: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: {
            url: { type: 'string', description: 'mysql://user:password@host:port/db?ssl-mode=DISABLED|VERIFY_CA|VERIFY_IDENTITY, usually ${VAR}.' },
            ca: { type: 'string', description: "PEM of the CA that signs the target's certificate." },
            auth: {
                enum: ['caching_sha2_password', 'mysql_native_password'],
                description: 'The plugin the job is asked to log in with first (default caching_sha2_password); either is accepted.',
            },
        },
    },
    conditions: [sqlCondition],
    classes: {
        sql: [
            'read', 'write', 'insert', 'update', 'delete',
            'delete_without_where', 'update_without_where',
            'ddl', 'create', 'alter', 'drop', 'truncate',
            'grant', 'set_role', 'alter_system',
            'dangerous_function',
            'maintenance', 'lock', 'transaction', 'session',
            'unknown',
            // The target asks the job's client for one of its files; the server writes a file on its own host
            // (SELECT … INTO OUTFILE or DUMPFILE). Both are refused unless a rule allows them.
            'load_local', 'outfile',
        ],
    },
    refusedUnlessAllowed: ['dangerous_function', 'load_local', 'outfile', 'unparseable'],
};

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/postgres/protocol.ts

/** PostgreSQL in the policy's words; the adapter (./adapter.ts) is loaded only when a policy names it. */
const postgresProtocol = {
    name: 'postgres',
    settings: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: {
            url: { type: 'string', description: 'postgres://user:password@host:port/db?sslmode=…, usually ${VAR}.' },
            ca: { type: 'string', description: "PEM of the CA that signs the target's certificate." },
        },
    },
    conditions: [sqlCondition],
    classes: {
        sql: [
            'read', 'write', 'insert', 'update', 'delete', 'merge',
            'delete_without_where', 'update_without_where',
            'ddl', 'create', 'alter', 'drop', 'truncate',
            'grant', 'set_role', 'integrity_setting', 'alter_system',
            'copy_from', 'copy_to', 'copy_program',
            'dangerous_function', 'function_call', 'startup_options', 'replication',
            'maintenance', 'lock', 'notify', 'transaction', 'session',
            'unknown',
            'masked_copy',
            'masked_predicate',
        ],
    },
    // `unparseable` is no class a rule can name, so nothing allows it: text the parser rejects is refused.
    refusedUnlessAllowed: ['function_call', 'startup_options', 'replication', 'dangerous_function', 'integrity_setting', 'copy_program', 'masked_copy', 'masked_predicate', 'unparseable'],
};

// EXTERNAL MODULE: ./runner-proxy/src/base/glob.ts
var glob = __webpack_require__(56997);
;// CONCATENATED MODULE: ./runner-proxy/src/adapters/ssh/protocol.ts


const SSH = 'ssh';
const protocol_UNKNOWN = 'unknown';
/**
 * Long and alternative spellings of single-letter flags, per program (or git subcommand), so "rm -rf"
 * also matches `rm --recursive --force`, `rm -R -f` and the abbreviation `rm --recu --f`, and "git push
 * --force" every way of forcing a push (`-f`, `--force-with-lease`, `--mirror`, a `+refspec`).
 */
const FLAG_SPELLINGS = {
    rm: { '--recursive': 'r', '-R': 'r', '--force': 'f', '--dir': 'd', '--verbose': 'v', '--interactive': 'i', '--one-file-system': 'x', '--no-preserve-root': 'N', '--preserve-root': 'P' },
    chmod: { '--recursive': 'R', '--changes': 'c', '--silent': 'f', '--quiet': 'f', '--verbose': 'v', '--reference': '-', '--no-preserve-root': 'N', '--preserve-root': 'P' },
    chown: { '--recursive': 'R', '--changes': 'c', '--silent': 'f', '--quiet': 'f', '--verbose': 'v', '--reference': '-', '--dereference': '-', '--no-dereference': 'h', '--from': '-' },
    chgrp: { '--recursive': 'R', '--changes': 'c', '--silent': 'f', '--quiet': 'f', '--verbose': 'v', '--reference': '-', '--dereference': '-', '--no-dereference': 'h' },
    cp: { '--recursive': 'r', '-R': 'r', '--force': 'f', '--archive': 'a', '--target-directory': 't', '--suffix': 'S', '--verbose': 'v' },
    mv: { '--force': 'f', '--target-directory': 't', '--suffix': 'S', '--verbose': 'v', '--no-clobber': 'n' },
    shred: { '--remove': 'u', '--zero': 'z', '--force': 'f', '--iterations': 'n', '--size': 's', '--verbose': 'v', '--exact': 'x' },
    'git push': { '--force': 'f', '--force-with-lease': 'f', '--mirror': 'f', '--delete': 'd', '--all': '-', '--tags': '-', '--set-upstream': 'u', '--verbose': 'v', '--quiet': 'q', '--dry-run': 'n', '--push-option': 'o', '--repo': '-', '--atomic': '-', '--prune': '-', '--no-verify': '-', '--follow-tags': '-' },
};
/** Short flags that take a value, attached or the next word, so letters in it are not flags. */
const FLAG_VALUES = { cp: 'tS', mv: 'tS', shred: 'ns', 'git push': 'o' };
/** Programs whose options are whole words (`find -delete`): a pattern's option matches the same word, not its letters. */
const WORD_OPTIONS = {
    // find's tests and actions that take a value: `find -name -delete` names a file, it deletes nothing.
    find: new Set(['-name', '-iname', '-path', '-ipath', '-wholename', '-iwholename', '-regex', '-iregex', '-lname', '-ilname', '-type', '-xtype', '-user', '-group', '-uid', '-gid', '-perm', '-size', '-newer', '-anewer', '-cnewer', '-mtime', '-atime', '-ctime', '-mmin', '-amin', '-cmin', '-used', '-links', '-inum', '-samefile', '-fstype', '-maxdepth', '-mindepth', '-printf', '-fprint', '-fprint0', '-fls', '-context', '-regextype', '-files0-from']),
};
/** git's options before its subcommand that take the next word. */
const GIT_GLOBAL_VALUED = new Set(['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--config-env', '--super-prefix', '--exec-path', '--attr-source', '--list-cmds']);
/** The long spelling a word names, abbreviations resolved (GNU and git accept any unambiguous prefix); every letter it could be when ambiguous. */
function spelledFlags(given, spellings) {
    if (spellings[given])
        return [spellings[given]];
    const matches = Object.keys(spellings).filter((s) => s.startsWith('--') && given.length > 2 && s.startsWith(given));
    return [...new Set(matches.map((m) => spellings[m]))];
}
/** The single-letter flags an argv carries, in any grouping, spelling or abbreviation, up to `--`. */
function flagsOf(program, args) {
    const spellings = FLAG_SPELLINGS[program] ?? {};
    const valued = FLAG_VALUES[program] ?? '';
    const flags = new Set();
    const words = [];
    let options = true;
    for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        if (options && arg === '--') {
            options = false;
            continue;
        }
        const spelled = options && arg.startsWith('-') ? spelledFlags(arg.split('=')[0], spellings) : [];
        if (spelled.length)
            spelled.forEach((f) => flags.add(f));
        else if (options && /^-[^-]/.test(arg)) {
            for (let j = 1; j < arg.length; j++) {
                const f = arg[j];
                flags.add(spellings[`-${f}`] ?? f);
                if (!valued.includes(f))
                    continue;
                if (j === arg.length - 1)
                    i++;
                break;
            }
        }
        else
            words.push(arg);
    }
    if (program === 'git push' && words.some((w) => w.startsWith('+')))
        flags.add('f');
    return { flags, words };
}
/** A pattern's program names its family: `mkfs` is also mkfs.ext4, `python3` also python3.11, `rm` never rmdir. */
function inFamily(program, name) {
    return name === program || (name.startsWith(program) && /^(\.[\w.-]+|[\d.]+)$/.test(name.slice(program.length)));
}
/** For git, the subcommand and what follows it, past git's own options (`git -C dir push -f`). */
function gitSubcommand(args) {
    let i = 0;
    while (i < args.length && args[i].startsWith('-'))
        i += GIT_GLOBAL_VALUED.has(args[i]) ? 2 : 1;
    return { sub: args[i], rest: args.slice(i + 1) };
}
/**
 * A deny pattern "program flags… words…": a command of the program's family carrying every flag (in
 * any spelling) and every word. For git the first word is the subcommand. Options of programs that
 * spell them as words (find) match as words.
 */
function shellMatcher(pattern) {
    if (pattern === protocol_UNKNOWN)
        return (op) => op.protocol === SSH && op.classes.has(protocol_UNKNOWN);
    const [program, ...required] = pattern.split(/\s+/);
    const sub = program === 'git' && required[0] && !required[0].startsWith('-') ? required.shift() : undefined;
    const key = sub ? `git ${sub}` : program;
    const wordOptions = WORD_OPTIONS[program];
    const needed = wordOptions ? { flags: new Set(), words: required } : flagsOf(key, required);
    const matchesArgs = (args) => {
        if (wordOptions)
            return required.every((w) => args.some((a, i) => a === w && !wordOptions.has(args[i - 1] ?? '')));
        const { flags, words } = flagsOf(key, args);
        return [...needed.flags].every((f) => flags.has(f)) && needed.words.every((w) => words.includes(w) || args.includes(w));
    };
    return (op) => op.commands?.some((argv) => {
        if (argv.length === 0 || !inFamily(program, argv[0].split('/').pop()))
            return false;
        if (!sub)
            return matchesArgs(argv.slice(1));
        const git = gitSubcommand(argv.slice(1));
        return git.sub === sub && matchesArgs(git.rest);
    }) ?? false;
}
/**
 * An allow-list entry for one simple command: the program (by base name unless the pattern gives a path)
 * and then each argument as a glob, in order; a last `**` takes any further arguments. Nothing else
 * passes: an allow-list says exactly what may run, so `git pull` does not admit `git -c x=y pull`. As
 * elsewhere, `*` stays within one path segment of an argument and `**` crosses them.
 */
function allowedCommand(pattern) {
    const [program, ...words] = pattern.trim().split(/\s+/);
    const rest = words.at(-1) === '**' ? words.slice(0, -1) : undefined;
    const globs = (rest ?? words).map((w) => (0,glob/* globMatcher */.fU)(w, { separator: '/' }));
    const byPath = program.includes('/');
    return (argv) => argv.length > 0 &&
        (byPath ? argv[0] === program : argv[0].split('/').pop() === program) &&
        (rest ? argv.length - 1 >= globs.length : argv.length - 1 === globs.length) &&
        globs.every((g, i) => g(argv[i + 1]));
}
/** `shell:` command patterns; an allow rule's list is an allow-list with `others:` (see allowedCommand). */
const shellCondition = {
    key: 'shell',
    schema: () => ({
        type: 'array',
        minItems: 1,
        items: { type: 'string', minLength: 1 },
        description: 'Commands, as a program name and the arguments it must carry ("rm -rf"), or unknown.',
    }),
    matcher: (value) => anyOf(value.map(shellMatcher)),
    /**
     * A command line is listed when every simple command in it is, as written (`sudo systemctl restart
     * app` needs an entry that starts with sudo; the shell text a listed `bash -c` runs needs its own), and
     * it has nothing the gateway cannot resolve, unless `unknown` is listed.
     */
    allowList: {
        noun: 'shell commands',
        compile: (value) => {
            const patterns = value;
            const listed = patterns.filter((p) => p !== protocol_UNKNOWN).map(allowedCommand);
            const listsUnknown = patterns.includes(protocol_UNKNOWN);
            return {
                covers: (op) => op.protocol === SSH && op.commands !== undefined,
                lists: (op) => (listsUnknown || !op.classes.has(protocol_UNKNOWN)) && (op.written ?? op.commands).every((argv) => listed.some((allowed) => allowed(argv))),
            };
        },
    },
};
const SFTP_CLASSES = ['read', 'write', 'remove', 'rename', 'mkdir', 'rmdir', 'setstat', 'symlink', 'list', 'unknown'];
/** `sftp:` "CLASS" or "CLASS /path/glob": an sftp (or scp) operation of that class on a matching path. */
const sftpCondition = {
    key: 'sftp',
    schema: () => ({
        type: 'array',
        minItems: 1,
        items: { type: 'string', pattern: `^(${SFTP_CLASSES.join('|')})(\\s+\\S+)?$` },
        description: `sftp (and scp) operations as "CLASS" or "CLASS /path/glob": ${SFTP_CLASSES.join(', ')}.`,
    }),
    check: (value, path, checks) => {
        value.forEach((pattern, i) => {
            const glob = pattern.split(/\s+/)[1];
            if (glob)
                checks.glob(glob, '/', [...path, i]);
        });
        return value;
    },
    matcher: (value) => anyOf(value.map((pattern) => {
        const [kind, path] = pattern.split(/\s+/, 2);
        const pathMatches = path ? (0,glob/* globMatcher */.fU)(path, { separator: '/' }) : () => true;
        return (op) => op.protocol === SSH && op.classes.has('sftp') && op.classes.has(kind) && pathMatches(op.path ?? '');
    })),
};
/** `ssh:` channel classes. */
const sshCondition = classCondition('ssh', () => 'SSH channels beyond one command, each refused unless a rule allows it: a terminal (pty shell), tunnels (-L, -R, -D, -W), agent forwarding (-A), X11 (-X).');
const CHANNELS = ['interactive', 'port_forwarding', 'agent_forwarding', 'x11_forwarding'];
const anyOf = (matchers) => (op) => matchers.some((m) => m(op));
/** SSH (and sftp, scp, git over SSH) in the policy's words; the adapter (./adapter.ts) is loaded only when a policy names it. */
const sshProtocol = {
    name: SSH,
    settings: {
        type: 'object',
        additionalProperties: false,
        required: ['host', 'user'],
        properties: {
            host: { type: 'string' },
            port: { type: 'integer', minimum: 1, maximum: 65535 },
            user: { type: 'string' },
            private_key: { type: 'string' },
            password: { type: 'string' },
            known_hosts: { type: 'string', description: "The target's host key line(s); the gateway pins it." },
            keepalive: {
                type: 'string',
                pattern: '^[0-9]+(ms|s|m|h)$',
                description: 'How often the gateway checks the target is alive (default 15s); three unanswered checks end the connection.',
            },
            user_ssh_config: {
                type: 'boolean',
                description: "Whether ~/.ssh/config includes the gateway's ssh config for the job's lifetime (default true); false leaves it untouched and the job uses GIT_SSH_COMMAND or ssh -F.",
            },
            env: {
                type: 'array',
                items: { type: 'string', minLength: 1 },
                description: 'Names (globs) of the variables the job may send with SendEnv/SetEnv; any other is refused.',
            },
            max_script: {
                type: 'integer',
                minimum: 1,
                description: 'The largest script, in bytes, a shell may receive on stdin (default 1048576); it is checked whole before it runs.',
            },
        },
    },
    conditions: [shellCondition, sshCondition, sftpCondition],
    classes: { ssh: CHANNELS },
    // Channels that reach beyond one command: a terminal, tunnels, the job's agent, X11.
    refusedUnlessAllowed: CHANNELS,
};

;// CONCATENATED MODULE: ./runner-proxy/src/adapters/index.ts





/**
 * The protocols this build serves, one line each: the folder's declaration (./X/protocol.ts, what the
 * policy may say about it) and its adapter, loaded when a policy first names the protocol.
 */
const PROTOCOLS = [
    [postgresProtocol, async () => new (await Promise.all(/* import() */[__webpack_require__.e(542), __webpack_require__.e(172), __webpack_require__.e(515)]).then(__webpack_require__.bind(__webpack_require__, 64515))).PostgresAdapter()],
    [mysqlProtocol, async () => new (await __webpack_require__.e(/* import() */ 373).then(__webpack_require__.bind(__webpack_require__, 55754))).MysqlAdapter()],
    [sshProtocol, async () => new (await Promise.all(/* import() */[__webpack_require__.e(615), __webpack_require__.e(126)]).then(__webpack_require__.bind(__webpack_require__, 89126))).SshAdapter()],
    [httpProtocol, async () => new (await Promise.all(/* import() */[__webpack_require__.e(542), __webpack_require__.e(754)]).then(__webpack_require__.bind(__webpack_require__, 26754))).HttpAdapter()],
];
const protocols = new ProtocolRegistry(PROTOCOLS.map(([declaration]) => declaration));
/** What policies may say in this build: the loader, the JSON Schema and the rule engine read it. */
function builtInProtocols() {
    return protocols;
}
/** The protocol adapters this build serves. */
function builtInAdapters() {
    return new Map(PROTOCOLS.map(([declaration, load]) => [declaration.name, once(load)]));
}
/** One adapter per registry: the HTTP adapter's connections and its forward proxy share what it knows. */
function once(load) {
    let adapter;
    return () => (adapter ??= load());
}

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
;// CONCATENATED MODULE: ./runner-proxy/src/approvals/commands.ts
/** `/govern approve ID` or `/govern deny ID reason`, on a line of its own anywhere in a comment. */
const COMMAND = /^[ \t]*\/govern[ \t]+(approve|deny)[ \t]+(apr_[0-9a-f]+)(?:[ \t]+(.*))?$/m;
function parseCommand(body) {
    const m = COMMAND.exec(body);
    if (!m)
        return undefined;
    const reason = m[3]?.trim();
    return { approve: m[1] === 'approve', id: m[2], ...(reason && { reason }) };
}
/** The comment that asks for an approval: what, where, by which rule, and how to answer. */
function requestMessage(request, context) {
    const fence = request.operation.includes('```') ? '~~~' : '```';
    const minutes = Math.round(context.timeoutMs / 60_000);
    return [
        `**govern** holds an operation for approval: request \`${request.id}\``,
        '',
        `Connection \`${request.connection}\`, rule \`${request.rule}\`${context.requester ? `, run by @${context.requester}` : ''}:`,
        '',
        `${fence}sql`,
        request.operation,
        fence,
        '',
        `Reply \`/govern approve ${request.id}\` or \`/govern deny ${request.id} <reason>\`.`,
        `Approvers: ${context.approvers.join(', ')}. Without an answer it is denied in ${minutes >= 1 ? `${minutes} min` : `${Math.round(context.timeoutMs / 1000)} s`}.`,
    ].join('\n');
}
function outcomeLine(result) {
    if (result.outcome === 'approved')
        return `**Approved** by @${result.by}.`;
    if (result.outcome === 'timeout')
        return '**Timed out**: nobody answered, so it was denied.';
    return `**Denied** by ${result.by === 'govern' ? 'govern' : `@${result.by}`}${result.reason ? `: ${result.reason}` : ''}.`;
}

;// CONCATENATED MODULE: ./runner-proxy/src/approvals/poller.ts
/** Runs `task` every `intervalMs` until stopped, one run at a time; a failed run is reported, not fatal. */
class Poller {
    task;
    intervalMs;
    onError;
    #timer;
    #stopped = false;
    constructor(task, intervalMs, onError) {
        this.task = task;
        this.intervalMs = intervalMs;
        this.onError = onError;
    }
    start() {
        if (this.#stopped)
            return;
        this.#timer = setTimeout(() => {
            void this.task()
                .catch(this.onError)
                .finally(() => this.start());
        }, this.intervalMs);
        this.#timer.unref();
    }
    stop() {
        this.#stopped = true;
        clearTimeout(this.#timer);
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/approvals/thread.ts


/**
 * What GitHub and GitLab approvals share: one comment per request, a poll of the conversation that
 * passes each valid `/govern approve|deny` to the engine once, and the outcome added to the request's
 * comment. A forge says how to post, edit, list and react, and who counts.
 */
class ThreadApprovals {
    #settings;
    #announced = new Map();
    #seen = new Set();
    #poller;
    #decide;
    /** When the first request was made: older comments cannot answer any. */
    since;
    constructor(settings) {
        this.#settings = settings;
    }
    async announce(request) {
        const { actor, approvers, timeoutMs } = this.#settings;
        const body = requestMessage(request, { ...(actor && { requester: actor }), approvers, timeoutMs });
        const commentId = await this.post(body);
        this.#announced.set(request.id, { commentId, body });
        this.#seen.add(commentId);
        this.since ??= request.requested_at;
    }
    start(decide) {
        this.#decide = decide;
        this.#poller = new Poller(() => this.#poll(), this.#settings.pollMs ?? 5000, (e) => this.#settings.warn(`reading approvals from ${this.#settings.forge} failed: ${e.message}`));
        this.#poller.start();
    }
    stop() {
        this.#poller?.stop();
    }
    async settled(result) {
        const announced = this.#announced.get(result.id);
        if (!announced)
            return;
        await this.edit(announced.commentId, `${announced.body}\n\n${outcomeLine(result)}`);
        this.#announced.delete(result.id);
    }
    /** Whether the author is the run's own actor, who may not approve their own run unless allowed. */
    isActor(author) {
        return this.#settings.actor !== undefined && author.toLowerCase() === this.#settings.actor.toLowerCase();
    }
    async #poll() {
        if (this.#announced.size === 0)
            return;
        for (const comment of (await this.comments()) ?? []) {
            if (this.#seen.has(comment.id))
                continue;
            this.#seen.add(comment.id);
            const command = parseCommand(comment.body);
            if (!command || !this.#announced.has(command.id) || !(await this.counts(comment)))
                continue;
            this.#decide?.(command.id, command.approve, comment.author, command.reason);
            await this.react(comment, command.approve).catch(() => undefined);
        }
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/approvals/github.ts


const WRITE = new Set(['admin', 'maintain', 'write']);
const REQUEST_TIMEOUT_MS = 15_000;
const WRITE_RETRIES = 2;
/** How often one request is retried after a secondary rate limit before the poll gives up until the next one. */
const SECONDARY_LIMIT_RETRIES = 2;
/** A spent primary limit is waited out only when it resets soon; otherwise polling pauses until the reset. */
const MAX_RATE_LIMIT_WAIT_S = 60;
class GitHubApprovals extends ThreadApprovals {
    #o;
    #owner;
    #repo;
    #octokit;
    #thread;
    #etag;
    /** Aborts the poll in flight when polling stops; the outcome edits that follow still go out. */
    #polling = new AbortController();
    /** When the rate limit is spent, polling waits for its reset. */
    #notBefore = 0;
    constructor(options) {
        super({ ...options, forge: 'GitHub' });
        this.#o = options;
        [this.#owner, this.#repo] = options.repository.split('/');
    }
    /** Loaded on first use: @actions/github reads the event payload when imported, which a gateway without GitHub approvals never needs. */
    #client() {
        this.#octokit ??= (async () => {
            const [{ getOctokit }, { retry }, { throttling }] = await Promise.all([
                __webpack_require__.e(/* import() */ 351).then(__webpack_require__.bind(__webpack_require__, 61351)),
                Promise.all(/* import() */[__webpack_require__.e(251), __webpack_require__.e(735)]).then(__webpack_require__.bind(__webpack_require__, 49735)),
                Promise.all(/* import() */[__webpack_require__.e(251), __webpack_require__.e(856)]).then(__webpack_require__.bind(__webpack_require__, 86856)),
            ]);
            const warn = this.#o.warn;
            const octokit = getOctokit(this.#o.token, {
                baseUrl: this.#o.apiUrl.replace(/\/$/, ''),
                userAgent: 'govern',
                throttle: {
                    // The plugin spaces writes (1 s) and comments (3 s) as GitHub asks, per id: one queue per gateway.
                    id: `govern-${(0,external_node_crypto_.randomUUID)()}`,
                    onSecondaryRateLimit: (retryAfter, options, _o, retryCount) => {
                        warn(`GitHub's secondary rate limit on ${options.method} ${options.url}; retrying in ${retryAfter} s`);
                        return retryCount < SECONDARY_LIMIT_RETRIES;
                    },
                    onRateLimit: (retryAfter) => {
                        this.#notBefore = Date.now() + retryAfter * 1000;
                        return retryAfter <= MAX_RATE_LIMIT_WAIT_S;
                    },
                },
                // Writes that fail with a 5xx or a network error are tried twice more (after 1 s and 4 s): a stopping gateway waits for no more.
                retry: { retries: WRITE_RETRIES },
                log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
            }, retry, throttling);
            // One slow answer must not hold the gateway forever.
            octokit.hook.wrap('request', (request, options) => request({ ...options, request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...options.request } }));
            return octokit;
        })();
        return this.#octokit;
    }
    /** The pull request of the event, else the open pull request of the commit, else the commit itself. */
    #findThread() {
        this.#thread ??= (async () => {
            const event = this.#o.event;
            const number = event?.pull_request?.number ?? (event?.issue?.pull_request ? event.issue.number : undefined);
            if (number)
                return { kind: 'issue', number };
            const octokit = await this.#client();
            const pulls = await found(octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner: this.#owner, repo: this.#repo, commit_sha: this.#o.sha }));
            const open = pulls?.data.find((p) => p.state === 'open');
            return open ? { kind: 'issue', number: open.number } : { kind: 'commit' };
        })();
        return this.#thread;
    }
    async post(body) {
        const [octokit, thread] = await Promise.all([this.#client(), this.#findThread()]);
        const repo = { owner: this.#owner, repo: this.#repo, body };
        const { data } = thread.kind === 'issue'
            ? await octokit.rest.issues.createComment({ ...repo, issue_number: thread.number })
            : await octokit.rest.repos.createCommitComment({ ...repo, commit_sha: this.#o.sha });
        return data.id;
    }
    async edit(commentId, body) {
        const [octokit, thread] = await Promise.all([this.#client(), this.#findThread()]);
        const repo = { owner: this.#owner, repo: this.#repo, comment_id: commentId, body };
        await (thread.kind === 'issue' ? octokit.rest.issues.updateComment(repo) : octokit.rest.repos.updateCommitComment(repo));
    }
    async comments() {
        if (Date.now() < this.#notBefore)
            return undefined;
        const [octokit, thread] = await Promise.all([this.#client(), this.#findThread()]);
        const route = thread.kind === 'issue'
            ? `GET /repos/{owner}/{repo}/issues/${thread.number}/comments`
            : `GET /repos/{owner}/{repo}/commits/${this.#o.sha}/comments`;
        const list = [];
        try {
            let pages = 0;
            let etag;
            for await (const page of octokit.paginate.iterator(route, {
                owner: this.#owner,
                repo: this.#repo,
                per_page: 100,
                ...(this.since && { since: this.since }),
                ...(this.#etag && { headers: { 'if-none-match': this.#etag } }),
                // The next poll is the retry; a stopped gateway waits for none.
                request: { retries: 0, signal: AbortSignal.any([this.#polling.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) },
            })) {
                if (pages++ === 0)
                    etag = page.headers.etag;
                list.push(...page.data);
            }
            // The first page's ETag says whether anything changed only while there is one page: new comments land on the last.
            this.#etag = pages === 1 ? etag : undefined;
        }
        catch (e) {
            if (e.status === 304)
                return undefined;
            throw e;
        }
        return list.map((c) => ({ id: c.id, body: c.body ?? '', author: c.user?.login ?? '', raw: c }));
    }
    stop() {
        super.stop();
        this.#polling.abort();
    }
    async counts(comment) {
        const { raw, author } = comment;
        if (!raw.user || raw.user.type === 'Bot' || raw.created_at !== raw.updated_at)
            return false;
        if (!this.#o.allowSelfApproval && this.isActor(author)) {
            await this.#reactWith(comment, 'confused');
            return false;
        }
        if (!(await this.#isApprover(author)))
            return false;
        const octokit = await this.#client();
        const permission = await found(octokit.rest.repos.getCollaboratorPermissionLevel({ owner: this.#owner, repo: this.#repo, username: author }));
        return WRITE.has(permission?.data.permission ?? '');
    }
    async #isApprover(login) {
        for (const approver of this.#o.approvers) {
            if (!approver.startsWith('@') && approver.toLowerCase() === login.toLowerCase())
                return true;
            const team = /^@([^/]+)\/(.+)$/.exec(approver);
            if (team) {
                const octokit = await this.#client();
                const membership = await found(octokit.rest.teams.getMembershipForUserInOrg({ org: team[1], team_slug: team[2], username: login }));
                if (membership?.data.state === 'active')
                    return true;
            }
        }
        return false;
    }
    react(comment, approve) {
        return this.#reactWith(comment, approve ? '+1' : '-1');
    }
    async #reactWith(comment, content) {
        const [octokit, thread] = await Promise.all([this.#client(), this.#findThread()]);
        const target = { owner: this.#owner, repo: this.#repo, comment_id: comment.id, content };
        await (thread.kind === 'issue' ? octokit.rest.reactions.createForIssueComment(target) : octokit.rest.reactions.createForCommitComment(target)).catch(() => undefined);
    }
}
/** A response, or undefined when GitHub answers 404 (no such pull request, collaborator or team member). */
async function found(request) {
    try {
        return await request;
    }
    catch (e) {
        if (e.status === 404)
            return undefined;
        throw e;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/approvals/gitlab.ts

const DEVELOPER = 30;
class GitLabApprovals extends ThreadApprovals {
    #o;
    constructor(options) {
        super({ ...options, forge: 'GitLab' });
        this.#o = options;
    }
    async #api(method, path, body) {
        const response = await fetch(`${this.#o.apiUrl.replace(/\/$/, '')}/projects/${encodeURIComponent(this.#o.projectId)}${path}`, {
            method,
            headers: { 'PRIVATE-TOKEN': this.#o.token, ...(body && { 'Content-Type': 'application/json' }) },
            ...(body && { body: JSON.stringify(body) }),
            signal: AbortSignal.timeout(15_000),
        });
        if (!response.ok && response.status !== 404)
            throw new Error(`GitLab answered ${method} ${path} with HTTP ${response.status}`);
        return response;
    }
    #notes(suffix = '') {
        return `/merge_requests/${this.#o.mergeRequestIid}/notes${suffix}`;
    }
    async post(body) {
        return (await (await this.#api('POST', this.#notes(), { body })).json()).id;
    }
    async edit(noteId, body) {
        await this.#api('PUT', this.#notes(`/${noteId}`), { body });
    }
    async comments() {
        const notes = (await (await this.#api('GET', this.#notes('?sort=asc&order_by=created_at&per_page=100'))).json());
        return notes.map((n) => ({ id: n.id, body: n.body, author: n.author.username, raw: n }));
    }
    async counts({ raw, author }) {
        if (raw.system || raw.author.bot || raw.created_at !== raw.updated_at)
            return false;
        if (!this.#o.allowSelfApproval && this.isActor(author))
            return false;
        if (!this.#o.approvers.some((a) => a.toLowerCase() === author.toLowerCase()))
            return false;
        const member = await this.#api('GET', `/members/all/${raw.author.id}`);
        return member.ok && ((await member.json()).access_level ?? 0) >= DEVELOPER;
    }
    async react(comment, approve) {
        await this.#api('POST', this.#notes(`/${comment.id}/award_emoji`), { name: approve ? 'thumbsup' : 'thumbsdown' });
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/approvals/providers.ts



/**
 * The provider the policy's `approvals.via` asks for, configured from the CI's own variables. When
 * they are missing the gateway says so and approvals go through `govern approve` only.
 */
function approvalProvider(spec, principal, env, warn) {
    const pollMs = env.GOVERN_APPROVAL_POLL_MS ? Number(env.GOVERN_APPROVAL_POLL_MS) : undefined;
    const common = { approvers: spec.approvers, allowSelfApproval: spec.allowSelfApproval, timeoutMs: spec.timeoutMs, warn, ...(pollMs && { pollMs }) };
    const claim = (name) => (typeof principal.claims[name] === 'string' ? principal.claims[name] : undefined);
    if (spec.via === 'github') {
        const token = env.GOVERN_GITHUB_TOKEN ?? env.GITHUB_TOKEN;
        if (!token || !env.GITHUB_REPOSITORY || !env.GITHUB_SHA) {
            warn('approvals via github need GOVERN_GITHUB_TOKEN (the action passes its github-token input), GITHUB_REPOSITORY and GITHUB_SHA; answer with govern approve instead');
            return undefined;
        }
        const eventPath = env.GITHUB_EVENT_PATH;
        const actor = claim('actor') ?? env.GITHUB_ACTOR;
        return new GitHubApprovals({
            ...common,
            token,
            repository: env.GITHUB_REPOSITORY,
            apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
            sha: env.GITHUB_SHA,
            ...(eventPath && (0,external_node_fs_.existsSync)(eventPath) && { event: JSON.parse((0,external_node_fs_.readFileSync)(eventPath, 'utf8')) }),
            ...(actor && { actor }),
        });
    }
    if (spec.via === 'gitlab') {
        const iid = env.CI_MERGE_REQUEST_IID ?? /!(\d+)/.exec(env.CI_OPEN_MERGE_REQUESTS ?? '')?.[1];
        if (!env.GOVERN_GITLAB_TOKEN || !env.CI_API_V4_URL || !env.CI_PROJECT_ID || !iid) {
            warn('approvals via gitlab need GOVERN_GITLAB_TOKEN (a project access token with api scope) and a merge request; answer with govern approve instead');
            return undefined;
        }
        const actor = claim('user_login') ?? env.GITLAB_USER_LOGIN;
        return new GitLabApprovals({ ...common, token: env.GOVERN_GITLAB_TOKEN, apiUrl: env.CI_API_V4_URL, projectId: env.CI_PROJECT_ID, mergeRequestIid: iid, ...(actor && { actor }) });
    }
    return undefined;
}

// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(77030);
;// CONCATENATED MODULE: ./runner-proxy/src/gateway/control.ts






const RUNTIME_FILE = 'gateway.json';
/** Unix socket paths are limited to about 104 bytes; longer ones go to the temp dir under a hash. */
const MAX_SOCKET_PATH = 100;
function controlSocketPath(outDir) {
    const inside = (0,external_node_path_.join)((0,external_node_path_.resolve)(outDir), 'control.sock');
    if (inside.length <= MAX_SOCKET_PATH)
        return inside;
    return (0,external_node_path_.join)((0,external_node_os_.tmpdir)(), `govern-${(0,external_node_crypto_.createHash)('sha256').update(inside).digest('hex').slice(0, 16)}.sock`);
}
function writeRuntimeInfo(outDir, info) {
    (0,external_node_fs_.writeFileSync)((0,external_node_path_.join)(outDir, RUNTIME_FILE), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
}
function readRuntimeInfo(outDir) {
    const path = (0,external_node_path_.join)(outDir, RUNTIME_FILE);
    if (!(0,external_node_fs_.existsSync)(path)) {
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.GatewayNotRunning, `no gateway was started with --out ${outDir} (${path} does not exist)`);
    }
    return JSON.parse((0,external_node_fs_.readFileSync)(path, 'utf8'));
}
function removeRuntimeInfo(outDir) {
    (0,external_node_fs_.rmSync)((0,external_node_path_.join)(outDir, RUNTIME_FILE), { force: true });
}
async function serveControl(path, handle) {
    (0,external_node_fs_.rmSync)(path, { force: true });
    const server = (0,external_node_net_.createServer)((socket) => {
        let buffered = '';
        socket.setEncoding('utf8');
        socket.on('error', () => socket.destroy());
        socket.on('data', (chunk) => {
            buffered += chunk;
            if (buffered.length > 64 * 1024)
                return socket.destroy();
            const newline = buffered.indexOf('\n');
            if (newline < 0)
                return;
            const line = buffered.slice(0, newline);
            buffered = '';
            void answer(line).then((response) => socket.end(`${JSON.stringify(response)}\n`));
        });
    });
    const answer = async (line) => {
        try {
            return { ok: true, result: await handle(JSON.parse(line)) };
        }
        catch (e) {
            const code = e instanceof errors/* GovernError */.MF ? e.code : errors/* ErrorCode */.O4.ControlFailed;
            return { ok: false, code, error: e.message };
        }
    };
    await new Promise((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolveListen());
    });
    (0,external_node_fs_.chmodSync)(path, 0o600);
    return server;
}
function callControl(path, request, timeoutMs) {
    return new Promise((resolveCall, reject) => {
        const socket = (0,external_node_net_.createConnection)(path);
        let buffered = '';
        const timer = setTimeout(() => {
            socket.destroy();
            reject(new errors/* GovernError */.MF(errors/* ErrorCode */.O4.ControlFailed, `the gateway did not answer "${request.cmd}" within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        socket.setEncoding('utf8');
        socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
        socket.on('data', (chunk) => (buffered += chunk));
        socket.on('error', (cause) => {
            clearTimeout(timer);
            reject(new errors/* GovernError */.MF(errors/* ErrorCode */.O4.GatewayNotRunning, `the gateway is not answering on ${path} (${cause.code ?? cause.message}); it may have exited`, { cause }));
        });
        socket.on('end', () => {
            clearTimeout(timer);
            let response;
            try {
                response = JSON.parse(buffered);
            }
            catch (cause) {
                return reject(new errors/* GovernError */.MF(errors/* ErrorCode */.O4.ControlFailed, 'the gateway sent an unreadable answer', { cause }));
            }
            if (response.ok)
                resolveCall(response.result);
            else
                reject(new errors/* GovernError */.MF(response.code, response.error));
        });
    });
}
/** Sends one control request to the gateway recorded in the out dir. */
function controlGateway(outDir, request, timeoutMs = 10_000) {
    return callControl(readRuntimeInfo(outDir).control, request, timeoutMs);
}

;// CONCATENATED MODULE: ./runner-proxy/src/core/approvals.ts


/**
 * Holds operations until someone decides. The adapter awaits `request`, so only that one operation waits:
 * the connection and the job go on. Requests and decisions are durable in the record before the
 * operation is refused or forwarded.
 */
class Approvals {
    #spec;
    #recorder;
    #now;
    #waiting = new Map();
    /** Outcomes on their way to the forge (edits GitHub's throttling may hold for a second or more). */
    #showing = new Set();
    #provider;
    #warn;
    constructor({ spec, recorder, provider, warn = () => undefined, now = Date.now }) {
        this.#spec = spec;
        this.#recorder = recorder;
        this.#now = now;
        this.#provider = provider;
        this.#warn = warn;
        provider?.start((id, approved, by, reason) => {
            if (this.#waiting.has(id))
                this.decide(id, approved, by, reason);
        });
    }
    get via() {
        return this.#spec.via;
    }
    pending() {
        return [...this.#waiting.values()].map(({ id, connection, operation, rule, requested_at }) => ({ id, connection, operation, rule, requested_at }));
    }
    /** Holds an operation until it is decided; `withdrawn` is aborted when whoever asked has gone (the hold is then withdrawn). */
    async request(op, rule, opSeq, withdrawn) {
        const id = `apr_${(0,external_node_crypto_.randomBytes)(5).toString('hex')}`;
        if (this.#waiting.size >= this.#spec.maxPending) {
            const result = { id, outcome: 'denied', by: 'govern', reason: `${this.#spec.maxPending} operations already wait for approval` };
            this.#recorder.append('approval.decided', { request_id: id, op: opSeq, outcome: result.outcome, by: result.by, reason: result.reason });
            await this.#recorder.durable();
            return result;
        }
        // The approval is bound to this one operation: its id is fresh, and the record names what it covers.
        const fingerprint = op.fingerprint ?? (0,external_node_crypto_.createHash)('sha256').update(`${op.connection}\u0000${op.text}`).digest('hex');
        this.#recorder.append('approval.requested', { request_id: id, op: opSeq, connection: op.connection, rule, fingerprint, via: this.#spec.via, timeout_ms: this.#spec.timeoutMs });
        await this.#recorder.durable();
        const result = await new Promise((resolve) => {
            const timer = setTimeout(() => waiting.settle({ id, outcome: 'timeout', by: 'govern', reason: `no decision within ${this.#spec.timeoutMs / 1000} s` }), this.#spec.timeoutMs);
            timer.unref();
            // Whoever asked has gone: nobody waits for the answer, so it no longer counts as pending.
            const withdraw = () => waiting.settle({ id, outcome: 'denied', by: 'govern', reason: 'withdrawn: the client left before a decision' });
            const waiting = {
                id,
                connection: op.connection,
                operation: op.text,
                rule,
                requested_at: new Date(this.#now()).toISOString(),
                settle: (r) => {
                    clearTimeout(timer);
                    withdrawn?.removeEventListener('abort', withdraw);
                    this.#waiting.delete(id);
                    resolve(r);
                },
            };
            this.#waiting.set(id, waiting);
            if (withdrawn?.aborted)
                return withdraw();
            withdrawn?.addEventListener('abort', withdraw, { once: true });
            this.#provider?.announce(this.pending().find((p) => p.id === id)).catch((e) => this.#warn(`cannot ask for approval ${id}: ${e.message}; govern approve ${id} still works`));
        });
        this.#recorder.append('approval.decided', { request_id: id, op: opSeq, outcome: result.outcome, by: result.by, reason: result.reason });
        const durable = this.#recorder.durable();
        if (this.#provider) {
            const provider = this.#provider;
            const showing = durable.then(() => provider.settled(result)).catch((e) => this.#warn(`cannot show the outcome of ${id}: ${e.message}`));
            this.#showing.add(showing);
            void showing.finally(() => this.#showing.delete(showing));
        }
        await durable;
        return result;
    }
    /** Waits, at most timeoutMs, for the outcomes decided so far to show on the forge: the job may end as soon as the gateway stops. */
    async outcomesShown(timeoutMs) {
        let timer;
        await Promise.race([Promise.all(this.#showing), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
        clearTimeout(timer);
    }
    /** Settles a waiting request; the caller has already checked that `by` may decide. */
    decide(id, approved, by, reason) {
        const waiting = this.#waiting.get(id);
        if (!waiting)
            throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.ApprovalNotFound, `no operation waits under approval id ${id}`);
        waiting.settle({ id, outcome: approved ? 'approved' : 'denied', by, ...(reason && { reason }) });
    }
    /** Denies everything still waiting, when the gateway stops. */
    denyAll(reason) {
        for (const waiting of [...this.#waiting.values()])
            waiting.settle({ id: waiting.id, outcome: 'denied', by: 'govern', reason });
        this.#provider?.stop();
    }
}

// EXTERNAL MODULE: ./runner-proxy/src/masking/detectors.ts
var detectors = __webpack_require__(67597);
;// CONCATENATED MODULE: ./runner-proxy/src/masking/discovery.ts

const ALL_TYPES = new Set(detectors/* DETECTOR_TYPES */.tW);
/** Bounds on what one session keeps, so a job with endless distinct shapes cannot grow the record without end. */
const MAX_SOURCES = 10_000;
const MAX_STATEMENTS = 10_000;
/** Values of one JSON document counted at most: a huge array of records teaches nothing more after this. */
const MAX_JSON_VALUES = 10_000;
const PLAIN_KEY = /^[A-Za-z_][\w-]*$/;
/**
 * Discovery: which sources carry sensitive values, learnt from the values that pass, for `govern policy
 * suggest`; and which source columns each statement shape returns, for `govern policy test` to judge
 * masks by. Adapters say what a value's source is; the counting is here, the same for every protocol.
 */
class Discovery {
    /** Whether values are run through the detectors (observe mode); source columns are recorded either way. */
    countsValues;
    #sources = new Map();
    #statements = new Map();
    constructor(options) {
        this.countsValues = options.countsValues;
    }
    /** Whether the source columns of this statement shape are still to be recorded. */
    wantsColumns(shape) {
        return !this.#statements.has(shape) && this.#statements.size < MAX_STATEMENTS;
    }
    columns(shape, sources) {
        if (this.wantsColumns(shape))
            this.#statements.set(shape, [...sources]);
    }
    /** Counts one value of a source: seen, and for every detector type that finds something in it, matched. */
    value(source, text) {
        let counts = this.#sources.get(source);
        if (!counts) {
            if (this.#sources.size >= MAX_SOURCES)
                return;
            this.#sources.set(source, (counts = { seen: 0, matched: {} }));
        }
        counts.seen++;
        const found = new Set((0,detectors/* detect */.o0)(text, ALL_TYPES).map((f) => f.type));
        for (const type of found)
            counts.matched[type] = (counts.matched[type] ?? 0) + 1;
    }
    /**
     * Counts the strings and numbers of a JSON document, each under `prefix` and its path with array
     * indices generalised (`billing $.items[*].email`). Text that is not JSON is not counted.
     */
    json(prefix, text) {
        let doc;
        try {
            doc = JSON.parse(text);
        }
        catch {
            return;
        }
        let budget = MAX_JSON_VALUES;
        const walk = (value, path) => {
            if (budget <= 0 || value === null)
                return;
            if (Array.isArray(value))
                return value.forEach((item) => walk(item, `${path}[*]`));
            if (typeof value === 'object') {
                for (const [key, child] of Object.entries(value))
                    walk(child, PLAIN_KEY.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);
                return;
            }
            if (typeof value !== 'string' && typeof value !== 'number')
                return;
            budget--;
            this.value(`${prefix} ${path}`, String(value));
        };
        walk(doc, '$');
    }
    /** The counts so far, for the record; undefined when nothing was learnt. */
    record() {
        if (this.#sources.size === 0 && this.#statements.size === 0)
            return undefined;
        return { sources: Object.fromEntries(this.#sources), statements: Object.fromEntries(this.#statements) };
    }
}

// EXTERNAL MODULE: ./runner-proxy/src/masking/masker.ts
var masker = __webpack_require__(27171);
;// CONCATENATED MODULE: ./runner-proxy/src/recording/denied-message.ts
/** What the job is told when its operation's approval is refused or runs out; the report repeats it. */
function deniedMessage(outcome, by, reason, rule, id) {
    const why = outcome === 'timeout' ? 'approval timed out' : `denied by ${by}${reason ? `: ${reason}` : ''}`;
    return `${why} (rule "${rule}", request ${id})`;
}

// EXTERNAL MODULE: ./runner-proxy/src/core/rules.ts
var core_rules = __webpack_require__(52686);
;// CONCATENATED MODULE: ./runner-proxy/src/core/governor.ts





/** How long results wait for an event to ride on before they are recorded on their own. */
const RESULTS_WAIT_MS = 10;
/**
 * The protocol-agnostic pipeline: adapters hand it classified operations; it decides (rules, then the
 * approval hold), records before anything is forwarded or refused, and gives back the masks to apply.
 * It fails closed: when the record cannot be written, every operation is refused.
 */
class Governor {
    counts = { operations: 0, allowed: 0, masked_values: 0, blocked: 0, approved: 0, denied: 0, would_block: 0, would_hold: 0 };
    masker;
    recorder;
    approvals;
    principal;
    /** What results reveal for `govern policy suggest` and `policy test`: recorded when the session settles. */
    discovery;
    /** Errors that escaped a connection's own handling and reached the last-resort guard; none is expected. */
    faults = 0;
    #rules;
    #recordResults;
    /** `recording.results: masked`: results keep their (masked) content. */
    recordsContent;
    /** What waits for the next group commit. */
    #forwards = [];
    /**
     * Results of allowed operations not recorded yet. They ride on the next event the governor records
     * (mostly the next operation's: one event per statement), or go in one `results` event of their own
     * after RESULTS_WAIT_MS without one.
     */
    #results = [];
    #resultsTimer;
    constructor({ policy, principal, recorder, masker, approvals }) {
        this.#rules = new core_rules/* RuleEngine */.f(policy);
        this.#recordResults = policy.recording.results !== 'none';
        this.recordsContent = policy.recording.results === 'masked';
        this.principal = principal;
        this.recorder = recorder;
        this.masker = masker;
        this.approvals = approvals;
        this.discovery = new Discovery({ countsValues: policy.mode === 'observe' });
    }
    connectionOpened(connection, protocol, detail = {}) {
        return this.recorder.append('connection.open', this.#withResults({ connection, protocol, ...detail }));
    }
    connectionClosed(connection, openSeq, reason) {
        this.#tryAppend('connection.close', { connection, open: openSeq, reason });
    }
    /**
     * Decides one operation. An allowed operation gets its ruling at once, so the hot path never waits;
     * a block (durable before the refusal) or a hold (until someone decides) comes as a promise.
     * `client` is the sequence number of the client connection's `connection.open`, where the adapter keeps one;
     * `withdrawn` is aborted when whoever asked has gone (a client that left): a hold on it is withdrawn.
     */
    decide(op, client, withdrawn) {
        this.counts.operations++;
        let decision;
        let seq;
        try {
            decision = this.#rules.evaluate(op, this.principal);
            seq = this.recorder.append('operation', this.#withResults(operationEvent(op, decision, client)));
        }
        catch (e) {
            this.counts.blocked++;
            return this.#refuse(0, 'recording-failed', recordingMessage(e));
        }
        // A recorder that failed after this event was queued refuses now rather than at the next operation.
        if (this.recorder.failure) {
            this.counts.blocked++;
            return this.#refuse(seq, 'recording-failed', recordingMessage(this.recorder.failure));
        }
        if (decision.verdict === 'block')
            return this.#block(seq, decision);
        if (decision.verdict === 'approve' && op.approveAtExecution)
            return { allowed: false, seq, masks: decision.masks, rule: decision.rule, message: decision.reason, deferred: true };
        if (decision.verdict === 'approve')
            return this.#hold(op, seq, decision, withdrawn);
        this.counts.allowed++;
        if (decision.policyVerdict === 'block')
            this.counts.would_block++;
        else if (decision.policyVerdict === 'approve')
            this.counts.would_hold++;
        return { allowed: true, seq, masks: decision.masks };
    }
    /**
     * Puts the events of the operations decided so far in the file: an adapter calls this before it
     * forwards them. Throws when they cannot be written; the adapter then refuses instead of forwarding.
     */
    commit() {
        this.recorder.write();
    }
    /**
     * Calls `forward` once the events decided so far are in the file: together with every other forward
     * asked for in this turn of the event loop, after one write for all the connections that had something
     * to send. `forward` gets the failure instead when the events cannot be written, and must not forward.
     */
    commitThen(forward) {
        this.#forwards.push(forward);
        if (this.#forwards.length === 1)
            setImmediate(this.#groupCommit);
    }
    #groupCommit = () => {
        const forwards = this.#forwards;
        this.#forwards = [];
        let failure;
        try {
            this.commit();
        }
        catch (e) {
            failure = e;
        }
        for (const forward of forwards)
            forward(failure);
    };
    get recordingFailure() {
        return this.recorder.failure;
    }
    get bundleDir() {
        return this.recorder.dir;
    }
    /** Whether some rule masks what goes to HTTP targets: only then do requests need a mask plan before they are decided. */
    get masksRequests() {
        return this.#rules.masksRequests;
    }
    /** The masks an operation will get, before it is decided (HTTP masks a request's query before it is recorded). */
    maskPlan(op) {
        return this.#rules.maskPlan(op);
    }
    /** Whether `decide` needs the operation's JSON body (HTTP reads it only then). */
    needsJson(op) {
        return this.#rules.needsJson(op);
    }
    /** Records how an allowed operation ended, with the next event recorded; masked counts feed the summary. */
    completed(ruling, stats) {
        this.counts.masked_values += stats.maskedValues ?? 0;
        if (!this.#recordResults)
            return;
        this.#results.push(resultEvent(ruling.seq, stats));
        this.#resultsTimer ??= setTimeout(this.#recordResultsAlone, RESULTS_WAIT_MS).unref();
    }
    /** Records the results still waiting, in a `results` event of their own: the session is ending. */
    settle() {
        clearTimeout(this.#resultsTimer);
        this.#recordResultsAlone();
        const discovered = this.discovery.record();
        if (discovered)
            this.#tryAppend('discovery', { ...discovered });
    }
    #recordResultsAlone = () => {
        this.#resultsTimer = undefined;
        if (this.#results.length)
            this.#tryAppend('results', {});
    };
    /** The fields of an event about to be recorded, with the results waiting (if any) added as `results`. */
    #withResults(fields) {
        if (this.#results.length === 0)
            return fields;
        fields.results = this.#results;
        this.#results = [];
        return fields;
    }
    /** The read masks of a connection, for what belongs to no operation (notices, notifications). */
    maskPlanFor(connection, protocol) {
        return this.#rules.maskPlan({ connection, protocol, text: '', classes: new Set(), writes: false });
    }
    /** Something worth keeping that is not an operation, such as a refused malformed message. */
    note(type, fields) {
        this.#tryAppend(type, { ...fields });
    }
    /** The last-resort guard caught an error: it is recorded (its message masked) and the gateway serves on. */
    fault(where, error) {
        this.faults++;
        const message = error instanceof Error ? error.message : String(error);
        this.#tryAppend('gateway.fault', { where, error: this.masker.maskText(message, masker/* REDACT_ALL */.kZ).text });
    }
    async #block(seq, decision) {
        this.counts.blocked++;
        try {
            await this.recorder.durable();
        }
        catch (e) {
            return this.#refuse(seq, decision.rule, `${decision.reason}; ${recordingMessage(e)}`);
        }
        return { allowed: false, seq, masks: core_rules/* EMPTY_MASK_PLAN */.N, rule: decision.rule, message: decision.reason };
    }
    async #hold(op, seq, decision, withdrawn) {
        let result;
        try {
            result = await this.approvals.request(op, decision.rule, seq, withdrawn);
        }
        catch (e) {
            this.counts.denied++;
            return this.#refuse(seq, decision.rule, recordingMessage(e));
        }
        if (result.outcome === 'approved') {
            this.counts.approved++;
            return { allowed: true, seq, masks: decision.masks, requestId: result.id };
        }
        this.counts.denied++;
        return {
            allowed: false,
            seq,
            masks: core_rules/* EMPTY_MASK_PLAN */.N,
            rule: decision.rule,
            message: deniedMessage(result.outcome, result.by, result.reason, decision.rule, result.id),
            requestId: result.id,
            ...(result.outcome === 'timeout' && { timedOut: true }),
        };
    }
    #refuse(seq, rule, message) {
        return { allowed: false, seq, masks: core_rules/* EMPTY_MASK_PLAN */.N, rule, message };
    }
    #tryAppend(type, fields) {
        try {
            this.recorder.append(type, this.#withResults(fields));
        }
        catch {
            // The recorder keeps its failure; every later decision is refused with it.
        }
    }
}
/*
 * An event's fields are set one by one rather than spread from optional parts: it is made for every
 * statement, and the recorder keeps its keys' order by the order they come in.
 */
/** Each class set as the list recorded: adapters keep one set per statement shape, so the list is made once per set. */
const classLists = new WeakMap();
function classList(classes) {
    let list = classLists.get(classes);
    if (!list)
        classLists.set(classes, (list = Object.freeze([...classes])));
    return list;
}
function operationEvent(op, decision, client) {
    const event = { connection: op.connection, protocol: op.protocol, text: op.text, classes: classList(op.classes) };
    if (client !== undefined)
        event.client = client;
    if (op.commands)
        event.argv = op.commands;
    event.verdict = decision.policyVerdict;
    if (decision.verdict !== decision.policyVerdict)
        event.enforced = decision.verdict;
    if (decision.rule)
        event.rule = decision.rule;
    if (decision.masks.rules.length)
        event.masks = decision.masks.rules;
    // What a refused job is told (in observe mode, would have been), so the record shows it.
    if (decision.policyVerdict === 'block')
        event.told = decision.reason;
    if (decision.verdict === 'approve' && op.approveAtExecution)
        event.approval = 'asked at each execution';
    return event;
}
/** A result's fields in the canonical (alphabetical) order already: they are recorded inside another event, whose serialiser then keeps that order. */
function resultEvent(op, stats) {
    const event = {};
    if (stats.body !== undefined)
        event.body = stats.body;
    if (stats.bytes !== undefined)
        event.bytes = stats.bytes;
    event.duration_ms = Math.round(stats.durationMs * 1000) / 1000;
    if (stats.error !== undefined)
        event.error = stats.error;
    if (stats.exit !== undefined)
        event.exit = stats.exit;
    if (stats.maskedValues) {
        event.masked = stats.maskedValues;
        if (stats.maskedBy)
            event.masked_by = stats.maskedBy;
    }
    event.op = op;
    if (stats.requestBody !== undefined)
        event.request_body = stats.requestBody;
    if (stats.rows !== undefined)
        event.rows = stats.rows;
    if (stats.status !== undefined)
        event.status = stats.status;
    if (stats.tag !== undefined)
        event.tag = stats.tag;
    return event;
}
function recordingMessage(e) {
    return e instanceof errors/* GovernError */.MF ? e.message : `the session cannot be recorded: ${e.message}`;
}

;// CONCATENATED MODULE: ./runner-proxy/src/identity/principal.ts
const NO_IDENTITY = Object.freeze({ kind: 'none', claims: Object.freeze({}), readOnly: false });
/** The claims worth keeping in the manifest: enough to say which run it was, nothing personal beyond the actor. */
const RECORDED_CLAIMS = [
    'iss', 'sub', 'aud',
    // GitHub
    'repository', 'repository_id', 'repository_owner', 'repository_owner_id', 'ref', 'ref_type', 'sha', 'workflow',
    'workflow_ref', 'job_workflow_ref', 'run_id', 'run_number', 'run_attempt', 'actor', 'actor_id', 'event_name',
    'environment', 'runner_environment', 'base_ref', 'head_ref',
    // GitLab
    'project_id', 'project_path', 'namespace_path', 'pipeline_id', 'pipeline_source', 'job_id', 'user_login',
    'ref_protected', 'ref_path',
];
/** The principal as the record and the manifest keep it. */
function principalRecord(p) {
    return { kind: p.kind, issuer: p.issuer, subject: p.subject, claims: p.claims, read_only: p.readOnly };
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/canonical.ts

/** Node's one-shot digest (20.12 and later), about half the cost of createHash for a short event. */
const oneShotHash = external_node_crypto_.hash;
/** JSON with keys sorted at every level and no whitespace: the form that is hashed and signed. */
function canonical(value) {
    // Strings and numbers, most of every event, without a call into JSON.stringify where it is not needed.
    if (typeof value === 'string')
        return jsonString(value);
    if (typeof value === 'number')
        return Number.isFinite(value) ? `${value}` : 'null';
    if (value === null || typeof value !== 'object')
        return JSON.stringify(value) ?? 'null';
    if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++)
            out += `${i ? ',' : ''}${value[i] === undefined ? 'null' : canonical(value[i])}`;
        return `${out}]`;
    }
    const record = value;
    let out = '{';
    for (const key of sortedKeys(record)) {
        const v = record[key];
        if (v === undefined)
            continue;
        out += `${out.length > 1 ? ',' : ''}${jsonString(key)}:${canonical(v)}`;
    }
    return `${out}}`;
}
/** An object's keys in order: most objects recorded are made with their keys in order already. */
function sortedKeys(record) {
    const keys = Object.keys(record);
    for (let i = 1; i < keys.length; i++)
        if (keys[i - 1] > keys[i])
            return keys.sort();
    return keys;
}
/** JSON.stringify(text), quoting directly when nothing in it needs an escape (control characters, quotes, backslashes, surrogates). */
function jsonString(text) {
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff))
            return JSON.stringify(text);
    }
    return `"${text}"`;
}
const GENESIS = '0'.repeat(64);
/** hash = sha256(prev ‖ canonical(event without its hash)), given that canonical text. */
function chainHash(prev, canonicalEvent) {
    return oneShotHash('sha256', prev + canonicalEvent, 'hex');
}
function sha256Hex(data) {
    return oneShotHash('sha256', data, 'hex');
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/recorder.ts




const EVENTS_FILE = 'events.jsonl';
const MANIFEST_FILE = 'manifest.json';
/**
 * Space set aside when the session starts and given back when it ends, so that a bundle whose disk
 * filled up can still be finalized: its manifest names what was recorded and where the record stops.
 */
const RESERVE_FILE = 'space.reserve';
const RESERVE_BYTES = 128 * 1024;
/** The keys every event has besides its fields, and where each stands in this list. */
const EVENT_KEYS = ['seq', 'ts', 'type', 'prev'];
const [SEQ, TS, TYPE, PREV] = [0, 1, 2, 3];
/** Events with keys of their own making (not one of the gateway's kinds) are ordered afresh each time. */
const MAX_KEY_ORDERS = 256;
/** Queued bytes past which the queue is written at once rather than at the next interval. */
const FLUSH_BYTES = 256 * 1024;
/**
 * Appends hash-chained events to events.jsonl. Appending is synchronous and cheap: the chain is
 * computed at once and the line queued. `write()` puts the queue in the file at once: adapters call it
 * before they forward what the events record (one write per batch of messages read together), so an
 * operation that reaches a target is in the file even if the gateway is killed. Other events (results,
 * notes) reach the file within a few milliseconds. `durable()` writes and fsyncs, and is awaited
 * before a block or an approval takes effect. After any write error the recorder refuses every further
 * event, so the gateway fails closed.
 */
class Recorder {
    dir;
    #fd;
    #now;
    #flushIntervalMs;
    #seq = 0;
    /** The last event known to be in the file. */
    #writtenSeq = 0;
    #head = GENESIS;
    #queue = [];
    #queuedBytes = 0;
    #timer;
    /** The last timestamp made, by millisecond: many events share one under load. */
    #lastMs = -1;
    #lastTs = '';
    #failure;
    #closed = false;
    /** Each event kind's keys in canonical order, by the keys its fields came with. */
    #keyOrders = new Map();
    #keyOrderCount = 0;
    constructor(dir, fd, options) {
        this.dir = dir;
        this.#fd = fd;
        this.#now = options.now ?? Date.now;
        this.#flushIntervalMs = options.flushIntervalMs ?? 10;
    }
    /** Creates the bundle directory; refuses one that already holds a session, so no evidence is overwritten. */
    static async create(dir, options = {}) {
        try {
            (0,external_node_fs_.mkdirSync)(dir, { recursive: true, mode: 0o700 });
        }
        catch (cause) {
            throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.RecordingFailed, `cannot create the session directory ${dir}: ${cause.message}`, { cause });
        }
        if ((0,external_node_fs_.existsSync)((0,external_node_path_.join)(dir, EVENTS_FILE)) || (0,external_node_fs_.existsSync)((0,external_node_path_.join)(dir, MANIFEST_FILE))) {
            throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.RecordingFailed, `${dir} already holds a recorded session; move it away or choose another --out`);
        }
        let fd;
        try {
            fd = (0,external_node_fs_.openSync)((0,external_node_path_.join)(dir, EVENTS_FILE), external_node_fs_.constants.O_WRONLY | external_node_fs_.constants.O_CREAT | external_node_fs_.constants.O_EXCL | external_node_fs_.constants.O_APPEND, 0o600);
        }
        catch (cause) {
            throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.RecordingFailed, `cannot create ${(0,external_node_path_.join)(dir, EVENTS_FILE)}: ${cause.message}`, { cause });
        }
        try {
            (0,external_node_fs_.writeFileSync)((0,external_node_path_.join)(dir, RESERVE_FILE), Buffer.alloc(RESERVE_BYTES), { mode: 0o600 });
        }
        catch {
            // Without the reserve a full disk may keep the manifest from being written; recording still works.
            (0,external_node_fs_.rmSync)((0,external_node_path_.join)(dir, RESERVE_FILE), { force: true });
        }
        return new Recorder(dir, fd, options);
    }
    get failure() {
        return this.#failure;
    }
    get head() {
        return { count: this.#seq, hash: this.#head };
    }
    /**
     * Adds an event to the chain and returns its sequence number; throws when recording has failed,
     * which must refuse the operation.
     */
    append(type, fields = {}) {
        if (this.#failure)
            throw this.#failure;
        if (this.#closed)
            throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.RecordingFailed, 'the session recording is already closed');
        const seq = this.#seq + 1;
        const open = this.#canonicalOpen(seq, this.#timestamp(), type, fields);
        const hash = chainHash(this.#head, `${open}}`);
        this.#seq = seq;
        this.#head = hash;
        // The line is the canonical form with the hash added last: verify takes the hash off and recomputes.
        const line = `${open},"hash":"${hash}"}\n`;
        this.#queue.push(line);
        this.#queuedBytes += line.length;
        if (this.#queuedBytes >= FLUSH_BYTES)
            this.#flush();
        // The timer is left running when the queue is written earlier: one per interval, not one per write.
        else
            this.#timer ??= setTimeout(() => {
                this.#timer = undefined;
                this.#flush();
            }, this.#flushIntervalMs).unref();
        return seq;
    }
    /**
     * canonical({ seq, ts, type, ...fields, prev }) without its closing brace, and without making that
     * object or sorting its keys: events of one kind have the same keys, so their sorted order (with each
     * key already quoted) is kept by them.
     */
    #canonicalOpen(seq, ts, type, fields) {
        const order = this.#keyOrder(type, Object.keys(fields));
        let out = '{';
        for (const { key, quoted, slot } of order) {
            let value;
            if (slot === SEQ)
                value = `${seq}`;
            else if (slot === TS)
                value = `"${ts}"`;
            else if (slot === TYPE)
                value = canonical(type);
            else if (slot === PREV)
                value = `"${this.#head}"`;
            else if (fields[key] === undefined)
                continue;
            else
                value = canonical(fields[key]);
            out += out.length > 1 ? `,${quoted}${value}` : `${quoted}${value}`;
        }
        return out;
    }
    /** The canonical order of an event's keys: found by comparing key names (no key string is made), sorted once per kind. */
    #keyOrder(type, names) {
        let known = this.#keyOrders.get(type);
        if (known)
            for (const candidate of known)
                if (sameNames(candidate.names, names))
                    return candidate.order;
        const order = [...new Set([...names, ...EVENT_KEYS])].sort().map((key) => ({ key, quoted: `${JSON.stringify(key)}:`, slot: EVENT_KEYS.indexOf(key) }));
        if (this.#keyOrderCount < MAX_KEY_ORDERS) {
            if (!known)
                this.#keyOrders.set(type, (known = []));
            known.push({ names, order });
            this.#keyOrderCount++;
        }
        return order;
    }
    #timestamp() {
        const ms = this.#now();
        if (ms !== this.#lastMs)
            [this.#lastMs, this.#lastTs] = [ms, new Date(ms).toISOString()];
        return this.#lastTs;
    }
    /**
     * Puts every event appended so far in the file now (no fsync: the file survives the gateway being
     * killed); throws when they are not all there, so what they record is refused rather than forwarded.
     */
    write() {
        if (this.#writtenSeq === this.#seq)
            return;
        this.#flush();
        if (this.#failure)
            throw this.#failure;
    }
    /** Gives back the space set aside for finalizing: the manifest and the report are written next. */
    releaseReserve() {
        (0,external_node_fs_.rmSync)((0,external_node_path_.join)(this.dir, RESERVE_FILE), { force: true });
    }
    /** Resolves once every event appended so far is on disk; rejects when it cannot be. */
    async durable() {
        this.#flush();
        if (this.#failure)
            throw this.#failure;
        await new Promise((resolve, reject) => (0,external_node_fs_.fsync)(this.#fd, (cause) => {
            if (!cause)
                return resolve();
            reject(this.#fail(cause));
        }));
    }
    async close() {
        if (this.#closed)
            return;
        try {
            await this.durable();
        }
        finally {
            this.#closed = true;
            clearTimeout(this.#timer);
            try {
                (0,external_node_fs_.closeSync)(this.#fd);
            }
            catch {
                // Already failed; the failure is what is reported.
            }
        }
    }
    /** Writes the queue in one go; the first failure poisons the recorder for good. */
    #flush() {
        if (this.#queue.length === 0 || this.#failure)
            return;
        const chunk = Buffer.from(this.#queue.join(''));
        this.#queue = [];
        this.#queuedBytes = 0;
        try {
            for (let written = 0; written < chunk.length;)
                written += (0,external_node_fs_.writeSync)(this.#fd, chunk, written);
            this.#writtenSeq = this.#seq;
        }
        catch (cause) {
            this.#fail(cause);
        }
    }
    #fail(cause) {
        this.#failure ??= new errors/* GovernError */.MF(errors/* ErrorCode */.O4.RecordingFailed, `cannot write the session recording in ${this.dir}: ${cause.message}; new operations are refused`, { cause });
        return this.#failure;
    }
}
function sameNames(a, b) {
    if (a.length !== b.length)
        return false;
    for (let i = 0; i < a.length; i++)
        if (a[i] !== b[i])
            return false;
    return true;
}
/** The last whole event of an events.jsonl file's content, and how many bytes of a cut-off line follow it. */
function recordedTail(content) {
    const end = content.lastIndexOf(10) + 1;
    const cutBytes = content.length - end;
    if (end === 0)
        return { cutBytes };
    const start = content.lastIndexOf(10, end - 2) + 1;
    return { last: JSON.parse(content.toString('utf8', start, end - 1)), cutBytes };
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/bundle.ts





const BUNDLE_FORMAT = 'govern-session/1';
/** The policy in force, byte for byte as the gateway read it (no `${VAR}` expanded): its sha256 is `policy.sha256`. */
const POLICY_FILE = 'policy.yml';
/** A per-run Ed25519 key: the private half lives only in the gateway's memory and dies with it. */
class SessionSigner {
    #privateKey;
    /** "ed25519:<base64url of the raw 32-byte key>", as printed in the job log and summary. */
    publicKey;
    constructor() {
        const { privateKey, publicKey } = (0,external_node_crypto_.generateKeyPairSync)('ed25519');
        this.#privateKey = privateKey;
        this.publicKey = `ed25519:${publicKey.export({ format: 'jwk' }).x}`;
    }
    sign(body) {
        return (0,external_node_crypto_.sign)(null, Buffer.from(canonical(body)), this.#privateKey).toString('base64url');
    }
}
function publicKeyObject(publicKey) {
    const x = publicKey.replace(/^ed25519:/, '');
    return (0,external_node_crypto_.createPublicKey)({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}
function signatureValid(manifest) {
    const { signature, ...body } = manifest;
    try {
        return (0,external_node_crypto_.verify)(null, Buffer.from(canonical(body)), publicKeyObject(manifest.public_key), Buffer.from(signature, 'base64url'));
    }
    catch {
        return false;
    }
}
/** Every file of the bundle but the manifest, by its path inside the bundle. */
function bundleFiles(dir) {
    const out = [];
    const walk = (d) => {
        for (const name of (0,external_node_fs_.readdirSync)(d).sort()) {
            const path = (0,external_node_path_.join)(d, name);
            if ((0,external_node_fs_.statSync)(path).isDirectory())
                walk(path);
            else
                out.push((0,external_node_path_.relative)(dir, path));
        }
    };
    walk(dir);
    return out.filter((f) => f !== MANIFEST_FILE && f !== EVENTS_FILE && !isRuntimeFile(f));
}
/** Files the running gateway keeps beside the bundle, which are not part of it. */
function isRuntimeFile(name) {
    return name === 'gateway.json' || name === 'gateway.log' || name.endsWith('.sock') || name === RESERVE_FILE;
}
/** Keeps the policy in the bundle at the start, so the signature covers the rules that were in force. */
function writePolicyCopy(dir, source) {
    (0,external_node_fs_.writeFileSync)((0,external_node_path_.join)(dir, POLICY_FILE), source, { mode: 0o644, flag: 'wx' });
}
function writeManifest(dir, body, signer) {
    const files = { [EVENTS_FILE]: sha256Hex((0,external_node_fs_.readFileSync)((0,external_node_path_.join)(dir, EVENTS_FILE))) };
    for (const f of bundleFiles(dir))
        files[f] = sha256Hex((0,external_node_fs_.readFileSync)((0,external_node_path_.join)(dir, f)));
    const full = { format: BUNDLE_FORMAT, ...body, files, public_key: signer.publicKey };
    const manifest = { ...full, signature: signer.sign(full) };
    (0,external_node_fs_.writeFileSync)((0,external_node_path_.join)(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
    return manifest;
}

// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: ./node_modules/jose/dist/webapi/util/decode_jwt.js
var decode_jwt = __webpack_require__(77961);
// EXTERNAL MODULE: ./node_modules/jose/dist/webapi/jwks/local.js
var local = __webpack_require__(36687);
// EXTERNAL MODULE: ./node_modules/jose/dist/webapi/jwt/verify.js + 2 modules
var verify = __webpack_require__(64490);
// EXTERNAL MODULE: ./node_modules/jose/dist/webapi/util/errors.js
var util_errors = __webpack_require__(5674);
;// CONCATENATED MODULE: ./runner-proxy/src/identity/token-source.ts

/** GitLab's id_tokens variable; also the variable the action hands the gateway. */
const GOVERN_ID_TOKEN = 'GOVERN_ID_TOKEN';
/**
 * Finds the job's OIDC token: a named variable, GOVERN_ID_TOKEN (GitLab's id_tokens, or set by the action),
 * or GitHub's token request service when the job has `permissions: id-token: write`.
 */
async function obtainToken({ env, tokenEnv, audience }) {
    if (tokenEnv) {
        const token = env[tokenEnv];
        if (!token)
            throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.TokenMissing, `--token-env names ${tokenEnv}, but that variable is empty or not set`);
        return { token, source: `$${tokenEnv}`, variable: tokenEnv };
    }
    const fromEnv = env[GOVERN_ID_TOKEN];
    if (fromEnv)
        return { token: fromEnv, source: `$${GOVERN_ID_TOKEN}`, variable: GOVERN_ID_TOKEN };
    const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
    const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    if (requestUrl && requestToken) {
        return { token: await requestGitHubToken(requestUrl, requestToken, audience), source: 'GitHub Actions OIDC' };
    }
    return undefined;
}
/** The same request @actions/core's getIDToken makes. */
async function requestGitHubToken(requestUrl, requestToken, audience) {
    const url = `${requestUrl}&audience=${encodeURIComponent(audience)}`;
    let response;
    try {
        response = await fetch(url, { headers: { Authorization: `Bearer ${requestToken}`, Accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
    }
    catch (cause) {
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.TokenMissing, `cannot reach GitHub's OIDC token service: ${cause.message}`, { cause });
    }
    if (!response.ok) {
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.TokenMissing, `GitHub's OIDC token service answered HTTP ${response.status}; does the job have permissions: id-token: write?`);
    }
    const body = (await response.json().catch(() => ({})));
    if (typeof body.value !== 'string')
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.TokenMissing, "GitHub's OIDC token service returned no token");
    return body.value;
}
const NO_TOKEN_HELP = 'no OIDC token found: on GitHub grant `permissions: id-token: write`, on GitLab add `id_tokens: GOVERN_ID_TOKEN`, elsewhere pass --token-env NAME';

;// CONCATENATED MODULE: ./runner-proxy/src/identity/token-text.ts
/** The longest piece of a token that a message repeats; enough to recognise a claim, too short to flood a log. */
const MAX_CHARS = 120;
// C0 and C1 controls, DEL, and the Unicode line and paragraph separators: none may start a new log line
// (a claim holding "\n::error::…" would otherwise write a workflow command of its own into the job log).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/**
 * Every value taken from a token passes through here before it goes into a message: control characters
 * become a space and the text is cut to a sane length. Objects and lists are named, never converted
 * (a claim such as {"toString": 1} cannot be turned into a string).
 */
function tokenText(value) {
    if (value === null)
        return 'null';
    if (Array.isArray(value))
        return 'a JSON list';
    if (typeof value === 'object')
        return 'a JSON object';
    if (typeof value !== 'string')
        return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
    const clean = value.replace(CONTROL, ' ');
    return clean.length > MAX_CHARS ? `${clean.slice(0, MAX_CHARS)}…` : clean;
}
/** tokenText in double quotes, for a value that may hold spaces. */
const quotedTokenText = (value) => (typeof value === 'string' ? `"${tokenText(value)}"` : tokenText(value));
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/**
 * Why a token is not three canonical base64url segments (RFC 7515 §2: no padding, no whitespace, and
 * unused trailing bits zero), or undefined when it is. Lenient decoding would give one signed token many
 * spellings; the signature is checked over the spelling received, so only one may be accepted.
 */
function segmentProblem(token) {
    const segments = token.split('.');
    if (segments.length !== 3)
        return `it is not a JWT: ${segments.length} dot-separated parts, not 3`;
    const names = ['header', 'claims', 'signature'];
    for (const [i, segment] of segments.entries()) {
        // An empty signature is left to the algorithm check, which names alg "none".
        if (segment === '' && i === 2)
            continue;
        if (!SEGMENT.test(segment)) {
            return segment === '' ? `its ${names[i]} part is empty` : `its ${names[i]} part is not base64url (padding, whitespace or other characters)`;
        }
        const tail = segment.length % 4;
        const lastBits = BASE64URL.indexOf(segment.at(-1));
        if (tail === 1 || (tail === 2 && (lastBits & 0b1111) !== 0) || (tail === 3 && (lastBits & 0b11) !== 0)) {
            return `its ${names[i]} part is not canonical base64url (its last character carries bits that encode nothing)`;
        }
    }
    return undefined;
}

// EXTERNAL MODULE: ./node_modules/jose/dist/webapi/jwks/remote.js
var remote = __webpack_require__(22952);
// EXTERNAL MODULE: ./node_modules/jose/dist/webapi/util/decode_protected_header.js
var decode_protected_header = __webpack_require__(61196);
;// CONCATENATED MODULE: ./runner-proxy/src/policy/pinning.ts

const FORGES = {
    github: { name: 'GitHub', ids: ['repository_id', 'repository_owner_id'], names: ['repository', 'repository_owner'], ownerWord: 'organisation' },
    gitlab: { name: 'GitLab', ids: ['project_id', 'namespace_id'], names: ['project_path', 'namespace_path'], ownerWord: 'group' },
};
/** The forge whose tokens a trust entry is written for: by its issuer, or for any other issuer (GHES) by the claims it names. */
function forgeOfEntry(entry) {
    if (entry.issuer === 'github' || entry.issuer === 'gitlab')
        return FORGES[entry.issuer];
    const claims = Object.keys(entry.claims);
    return Object.values(FORGES).find((f) => claims.some((c) => f.ids.includes(c) || f.names.includes(c)));
}
/** The forge that minted a token, by the id claims it carries. */
function forgeOfToken(payload) {
    return Object.values(FORGES).find((f) => f.ids.some((c) => payload[c] !== undefined));
}
const exact = (value) => value !== undefined && (Array.isArray(value) ? value : [value]).every((v) => typeof v !== 'string' || !(0,glob/* hasGlobSyntax */.uh)(v));
const namesAnId = (entry, forge) => forge.ids.some((c) => exact(entry.claims[c]));
/** Whether an entry binds the repository by a stable id or an exact `sub`, or says it means every repository. */
function isPinned(entry, forge) {
    return entry.anyRepository === true || namesAnId(entry, forge) || exact(entry.claims.sub);
}
/** Why an entry lets in every repository on the forge, as the sentence that says what to add. */
function unpinnedReason(forge) {
    const [repository, owner] = forge.ids;
    return (`names no ${forge.name} repository by id, so it lets in every repository on the forge that asks for a token: ` +
        `add ${repository} (or ${owner} for a whole ${forge.ownerWord}) or an exact sub, ` +
        `or any_repository: true if every repository is really meant`);
}
/** Why an entry that is pinned still deserves a warning, if it does. */
function weakPinning(entry, forge) {
    if (namesAnId(entry, forge))
        return undefined;
    if (entry.anyRepository)
        return `any_repository: true lets in every repository on ${forge.name} that can get a token for this audience`;
    const byName = forge.names.filter((c) => entry.claims[c] !== undefined);
    const named = byName.length ? byName.map((c) => `${c}: ${String(entry.claims[c])}`).join(', ') : 'sub';
    return `binds the repository by name only (${named}); names are given to someone else after a rename or deletion: add ${forge.ids[0]} too`;
}

;// CONCATENATED MODULE: ./runner-proxy/src/identity/verify.ts






const ALGORITHMS = ['RS256', 'ES256'];
const CLOCK_TOLERANCE_S = 60;
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
/** Events whose code comes from someone who may not be trusted to write: read-only unless named. */
const UNTRUSTED_EVENTS = {
    pull_request: 'event_name',
    pull_request_target: 'event_name',
    merge_request_event: 'pipeline_source',
};
/** Verifies OIDC tokens against the policy's trust entries. JWKS are fetched once per issuer and cached. */
class TokenVerifier {
    #policy;
    #now;
    #timeoutMs;
    #gitlabUrl;
    #keySets = new Map();
    constructor(policy, options = {}) {
        this.#policy = policy;
        this.#now = options.now ?? (() => new Date());
        this.#timeoutMs = options.timeoutMs ?? 10_000;
        this.#gitlabUrl = (options.gitlabUrl ?? 'https://gitlab.com').replace(/\/+$/, '');
    }
    issuerUrl(entry) {
        if (entry.issuer === 'github')
            return GITHUB_ISSUER;
        if (entry.issuer === 'gitlab')
            return this.#gitlabUrl;
        return entry.issuer;
    }
    async verify(token) {
        const malformed = segmentProblem(token);
        if (malformed)
            throw new errors/* TokenRejectedError */.WR('format', malformed);
        const header = readHeader(token);
        let unverified;
        try {
            unverified = (0,decode_jwt/* decodeJwt */.i)(token);
        }
        catch (cause) {
            throw new errors/* TokenRejectedError */.WR('format', 'its claims are not a JSON object', { cause });
        }
        // OpenID Connect compares the issuer exactly: no trailing-slash or case leniency.
        const iss = unverified.iss;
        if (iss === undefined)
            throw new errors/* TokenRejectedError */.WR('iss', 'token has no "iss" claim');
        if (typeof iss !== 'string')
            throw new errors/* TokenRejectedError */.WR('iss', `"iss" claim is ${tokenText(iss)}, not a string`);
        const candidates = this.#policy.trust
            .map((entry, index) => ({ entry, index }))
            .filter(({ entry }) => this.issuerUrl(entry) === iss);
        if (candidates.length === 0) {
            const trusted = [...new Set(this.#policy.trust.map((e) => this.issuerUrl(e)))].join(', ');
            throw new errors/* TokenRejectedError */.WR('iss', `issuer ${quotedTokenText(iss)} is not trusted; the policy trusts ${trusted}`);
        }
        const payload = await this.#verifySignatureAndTimes(token, iss, header.kid);
        const { index, entry } = matchTrust(candidates, payload);
        return principalOf(payload, iss, index, entry);
    }
    async #verifySignatureAndTimes(token, iss, kid) {
        const keys = await this.#keySet(iss);
        const now = this.#now();
        let payload;
        try {
            ({ payload } = await (0,verify/* jwtVerify */.V)(token, keys, {
                algorithms: ALGORITHMS,
                issuer: iss,
                audience: this.#policy.audience,
                clockTolerance: CLOCK_TOLERANCE_S,
                requiredClaims: ['iss', 'aud', 'exp', 'iat'],
                currentDate: now,
            }));
        }
        catch (e) {
            throw this.#explain(e, kid, now);
        }
        const nowS = Math.floor(now.getTime() / 1000);
        if (typeof payload.iat !== 'number')
            throw new errors/* TokenRejectedError */.WR('iat', '"iat" claim is not a number');
        if (payload.iat > nowS + CLOCK_TOLERANCE_S) {
            throw new errors/* TokenRejectedError */.WR('iat', `token issued ${payload.iat - nowS} s in the future (tolerance ${CLOCK_TOLERANCE_S} s)`);
        }
        return payload;
    }
    #explain(e, kid, now) {
        const nowS = Math.floor(now.getTime() / 1000);
        if (e instanceof util_errors/* JWTExpired */.n) {
            return new errors/* TokenRejectedError */.WR('exp', `token expired ${nowS - e.payload.exp} s ago`, { cause: e });
        }
        if (e instanceof util_errors/* JWTClaimValidationFailed */.ie) {
            const { claim, reason, payload } = e;
            if (reason === 'missing')
                return new errors/* TokenRejectedError */.WR(claim, `token has no "${claim}" claim`, { cause: e });
            if (claim === 'aud') {
                const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
                const listed = aud.every((a) => typeof a === 'string') ? `[${aud.map(quotedTokenText).join(',')}]` : tokenText(payload.aud);
                return new errors/* TokenRejectedError */.WR('aud', `audience "${this.#policy.audience}" not in token aud ${listed}`, { cause: e });
            }
            if (claim === 'nbf') {
                return new errors/* TokenRejectedError */.WR('nbf', `token not valid for another ${payload.nbf - nowS} s ("nbf" in the future)`, { cause: e });
            }
            const value = payload[claim];
            const what = value !== null && typeof value === 'object' ? `is ${tokenText(value)}, which` : 'is';
            return new errors/* TokenRejectedError */.WR(claim, `"${claim}" claim ${what} not valid`, { cause: e });
        }
        if (e instanceof util_errors/* JWKSNoMatchingKey */.BT) {
            return new errors/* TokenRejectedError */.WR('kid', `no key in the issuer's JWKS matches kid ${kid === undefined ? 'null' : quotedTokenText(kid)}`, { cause: e });
        }
        if (e instanceof util_errors/* JWSSignatureVerificationFailed */.h2) {
            return new errors/* TokenRejectedError */.WR('signature', "signature does not verify against the issuer's keys", { cause: e });
        }
        if (e instanceof util_errors/* JWKSTimeout */.xb || e instanceof util_errors/* JWKSInvalid */.Dm || (e instanceof TypeError && /fetch/i.test(e.message))) {
            return new errors/* GovernError */.MF(errors/* ErrorCode */.O4.IssuerUnreachable, `cannot fetch the issuer's keys: ${e.message}`, { cause: e });
        }
        if (e instanceof util_errors/* JOSEError */.i4)
            return new errors/* TokenRejectedError */.WR('format', `token is malformed: ${tokenText(e.message)}`, { cause: e });
        return new errors/* GovernError */.MF(errors/* ErrorCode */.O4.IssuerUnreachable, `cannot verify the token: ${e.message}`, { cause: e });
    }
    #keySet(iss) {
        let keys = this.#keySets.get(iss);
        if (!keys) {
            keys = issuerKeys(iss, this.#timeoutMs);
            keys.catch(() => this.#keySets.delete(iss));
            this.#keySets.set(iss, keys);
        }
        return keys;
    }
}
/** An issuer's signing keys: GitHub's JWKS address is fixed; every other issuer is asked through OIDC discovery. */
async function issuerKeys(iss, timeoutMs) {
    return (0,remote/* createRemoteJWKSet */.RD)(await discoverJwks(iss, timeoutMs), { timeoutDuration: timeoutMs });
}
async function discoverJwks(iss, timeoutMs) {
    if (iss === GITHUB_ISSUER)
        return new URL(`${GITHUB_ISSUER}/.well-known/jwks`);
    const url = `${iss.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let config;
    try {
        const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        if (!response.ok)
            throw new Error(`HTTP ${response.status}`);
        config = (await response.json());
    }
    catch (cause) {
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.IssuerUnreachable, `cannot read the issuer's discovery document ${url}: ${cause.message}`, { cause });
    }
    if (config.issuer !== iss || typeof config.jwks_uri !== 'string') {
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.IssuerUnreachable, `the discovery document at ${url} names another issuer or no jwks_uri`);
    }
    return new URL(config.jwks_uri);
}
/** The token's protected header, refused when unsigned, of another algorithm, or carrying its own keys. */
function readHeader(token) {
    let header;
    try {
        header = (0,decode_protected_header/* decodeProtectedHeader */._)(token);
    }
    catch (cause) {
        throw new errors/* TokenRejectedError */.WR('format', 'it is not a JWT (three base64url parts with a JSON header)', { cause });
    }
    const alg = header.alg;
    if (typeof alg === 'string' && alg.toLowerCase() === 'none')
        throw new errors/* TokenRejectedError */.WR('alg', 'token is unsigned (alg "none")');
    if (typeof alg !== 'string' || !ALGORITHMS.includes(alg)) {
        throw new errors/* TokenRejectedError */.WR('alg', `algorithm ${quotedTokenText(alg)} is not allowed; only RS256 and ES256 are`);
    }
    for (const key of ['jwk', 'jku', 'x5u', 'x5c']) {
        if (header[key] !== undefined) {
            throw new errors/* TokenRejectedError */.WR(key, `token header carries "${key}"; keys come only from the issuer's JWKS`);
        }
    }
    if (header.kid !== undefined && typeof header.kid !== 'string')
        throw new errors/* TokenRejectedError */.WR('kid', `header "kid" is ${tokenText(header.kid)}, not a string`);
    return { ...(header.kid !== undefined && { kid: header.kid }) };
}
function claimMatches(actual, wanted) {
    if (actual === undefined || actual === null || typeof actual === 'object')
        return false;
    const value = String(actual);
    return (Array.isArray(wanted) ? wanted : [wanted]).some((w) => typeof w === 'string' ? (0,glob/* globMatcher */.fU)(w, { separator: '/' })(value) : String(w) === value);
}
function matchTrust(candidates, payload) {
    // A forge's token (GitHub Enterprise Server's too, under its own issuer URL) is let in only by an entry that pins the repository.
    const forge = forgeOfToken(payload);
    const unpinned = forge && candidates.find(({ entry }) => !isPinned(entry, forge));
    if (unpinned)
        throw new errors/* TokenRejectedError */.WR('claims', `identity.trust[${unpinned.index}] ${unpinnedReason(forge)}`);
    let closest;
    for (const candidate of candidates) {
        const mismatches = Object.entries(candidate.entry.claims)
            .filter(([claim, wanted]) => !claimMatches(payload[claim], wanted))
            .map(([claim, wanted]) => ({ claim, actual: payload[claim], wanted }));
        if (mismatches.length === 0)
            return candidate;
        if (!closest || mismatches.length < closest.length)
            closest = mismatches;
    }
    const m = closest[0];
    const actual = m.actual === undefined ? 'absent'
        : m.actual !== null && typeof m.actual === 'object' ? `is ${tokenText(m.actual)}, which never matches (claims match only as strings, numbers or booleans)`
            : `was ${tokenText(m.actual)}`;
    const wanted = Array.isArray(m.wanted) ? `one of ${m.wanted.join(', ')}` : String(m.wanted);
    throw new errors/* TokenRejectedError */.WR('claims', `no trust entry matched: ${m.claim} ${actual}, wanted ${wanted}`);
}
function principalOf(payload, iss, index, entry) {
    const claims = {};
    for (const key of RECORDED_CLAIMS)
        if (payload[key] !== undefined)
            claims[key] = payload[key];
    let readOnlyReason;
    for (const [event, claim] of Object.entries(UNTRUSTED_EVENTS)) {
        const named = entry.claims[claim];
        const namesEvent = named !== undefined && (Array.isArray(named) ? named : [named]).includes(event);
        if (payload[claim] === event && !namesEvent) {
            readOnlyReason = `a ${event} run may only read; name ${claim}: ${event} in a trust entry to let it write`;
        }
    }
    return {
        kind: 'oidc',
        issuer: iss,
        ...(typeof payload.sub === 'string' && { subject: payload.sub }),
        claims,
        trustEntry: index,
        readOnly: readOnlyReason !== undefined,
        ...(readOnlyReason && { readOnlyReason }),
    };
}
/**
 * Whether a recorded identity (issuer and claims) would still be let in by a trust policy, for
 * `govern policy test`: the failed check in one sentence, or undefined when an entry matches.
 */
function trustProblem(policy, iss, claims) {
    const verifier = new TokenVerifier(policy);
    const candidates = policy.trust.map((entry, index) => ({ entry, index })).filter(({ entry }) => verifier.issuerUrl(entry) === iss);
    if (candidates.length === 0)
        return `no trust entry names the issuer ${iss}`;
    try {
        matchTrust(candidates, claims);
        return undefined;
    }
    catch (e) {
        return e.message;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/identity/binding.ts





const AUDIENCE_PREFIX = 'govern-session-key:sha256:';
/** The audience a binding token names: the sha256 of the raw 32-byte Ed25519 public key. */
function bindingAudience(publicKey) {
    const raw = Buffer.from(publicKey.replace(/^ed25519:/, ''), 'base64url');
    return `${AUDIENCE_PREFIX}${(0,external_node_crypto_.createHash)('sha256').update(raw).digest('hex')}`;
}
/** The claims of the binding token that say which run the bundle belongs to. */
const RUN_CLAIMS = ['repository_id', 'repository', 'workflow', 'workflow_ref', 'ref', 'sha', 'run_id', 'run_attempt'];
/**
 * The binding the gateway records: the forge's token, checked at once against the issuer's keys (the
 * identity's issuer, else GitHub's), or why there is none.
 */
async function bindJob(env, publicKey, issuer) {
    const binding = await requestJobBinding(env, publicKey);
    if (binding.kind === 'absent')
        return binding;
    const check = await checkJobBinding(binding, publicKey, { issuer: issuer ?? GITHUB_ISSUER });
    return check.status === 'bound' ? binding : { kind: 'absent', reason: `the forge's binding token was not kept: ${check.problem}` };
}
/** Asks the forge for the binding token. Never throws: a binding the forge cannot give is recorded as absent, with why. */
async function requestJobBinding(env, publicKey) {
    const audience = bindingAudience(publicKey);
    const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
    const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    if (requestUrl && requestToken) {
        try {
            const token = await requestGitHubToken(requestUrl, requestToken, audience);
            const { iss } = (0,decode_jwt/* decodeJwt */.i)(token);
            if (typeof iss !== 'string')
                return { kind: 'absent', reason: 'the token service answered with a token that names no issuer' };
            return { kind: 'oidc', issuer: iss, audience, token };
        }
        catch (e) {
            return { kind: 'absent', reason: `the token service gave no binding token: ${e.message}` };
        }
    }
    if (env.GITLAB_CI) {
        return { kind: 'absent', reason: "GitLab gives a job only the id_tokens its YAML declares, each with a fixed audience, so no token can name this run's key" };
    }
    return { kind: 'absent', reason: 'the runner offers no OIDC token service that takes an audience (on GitHub: permissions: id-token: write)' };
}
/**
 * Checks a bundle's job binding: the token's signature against the issuer's keys, its issuer, that its
 * audience names this bundle's key, and that it names the run the manifest and the expectations name.
 * Expiry is no failure: the token was valid when it was minted, at the start of the session.
 */
async function checkJobBinding(binding, publicKey, options = {}) {
    const failed = (problem) => ({ status: 'failed', problem });
    const record = binding;
    if (!record || record.kind !== 'oidc') {
        const reason = typeof record?.reason === 'string' ? record.reason : 'the manifest carries none';
        return { status: 'absent', problem: `the bundle is not bound to a job (${reason}): nothing outside it ties its signing key to a run` };
    }
    const token = record.token;
    if (typeof token !== 'string')
        return failed('the job binding holds no token');
    const issuer = options.issuer ?? GITHUB_ISSUER;
    const malformed = segmentProblem(token);
    if (malformed)
        return failed(`the job binding token is refused: ${malformed}`);
    let payload;
    try {
        readHeader(token);
        payload = (0,decode_jwt/* decodeJwt */.i)(token);
    }
    catch (e) {
        return failed(`the job binding token is refused: ${e.message}`);
    }
    const audience = bindingAudience(publicKey);
    const named = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!named.includes(audience)) {
        return failed(`the job binding token names the key ${tokenText(named.join(', '))}, not this bundle's signing key: the bundle was signed again by another key`);
    }
    if (payload.iss !== issuer)
        return failed(`the job binding token was issued by ${tokenText(payload.iss)}, not by ${issuer} (--issuer names another)`);
    if (typeof payload.iat !== 'number')
        return failed('the job binding token has no "iat" claim');
    try {
        const keys = options.jwks ? (0,local/* createLocalJWKSet */.w)(options.jwks) : await issuerKeys(issuer, options.timeoutMs ?? 10_000);
        // Checked as of the moment it was minted: an old bundle's token has long expired, and that is no failure.
        await (0,verify/* jwtVerify */.V)(token, keys, { algorithms: ALGORITHMS, issuer, audience, requiredClaims: ['iss', 'aud', 'iat'], currentDate: new Date(payload.iat * 1000) });
    }
    catch (e) {
        if (e instanceof util_errors/* JWKSNoMatchingKey */.BT) {
            return failed(`no key of ${issuer} matches the job binding token's kid; the forge rotates its keys: give the keys of that time with --jwks FILE`);
        }
        if (e instanceof util_errors/* JWSSignatureVerificationFailed */.h2)
            return failed(`the job binding token's signature does not verify against the keys of ${issuer}`);
        return failed(`cannot check the job binding token against the keys of ${issuer}: ${e.message}; --jwks FILE checks it offline`);
    }
    const run = binding_recordedRun({ kind: 'oidc', issuer, audience, token });
    for (const claim of RUN_CLAIMS) {
        const recorded = options.identityClaims?.[claim];
        if (recorded !== undefined && run[claim] !== undefined && String(recorded) !== run[claim]) {
            return failed(`the job binding token names ${claim} ${tokenText(run[claim])}, but the bundle's identity names ${tokenText(String(recorded))}`);
        }
    }
    const { expectRepository, expectWorkflow } = options;
    if (expectRepository !== undefined && expectRepository !== run.repository && expectRepository !== run.repository_id) {
        return failed(`the bundle belongs to repository ${describeRepository(run)}, not ${expectRepository}`);
    }
    if (expectWorkflow !== undefined && !workflowMatches(run, expectWorkflow)) {
        return failed(`the bundle belongs to workflow ${tokenText(run.workflow ?? run.workflow_ref ?? 'none')}, not ${expectWorkflow}`);
    }
    return { status: 'bound', run };
}
/** A workflow by its name, its file (`.github/workflows/deploy.yml`) or its full ref without the `@ref`. */
function workflowMatches(run, wanted) {
    const path = run.workflow_ref?.split('@')[0];
    return wanted === run.workflow || wanted === path || (path !== undefined && path.endsWith(`/${wanted.replace(/^\/+/, '')}`));
}
function describeRepository(run) {
    return `${tokenText(run.repository ?? 'unnamed')}${run.repository_id ? ` (id ${tokenText(run.repository_id)})` : ''}`;
}
/**
 * The run a recorded binding names, read without checking it (the gateway checked it when it was
 * recorded; `govern verify` checks it again): for the report, which cannot reach the issuer.
 */
function binding_recordedRun(binding) {
    if (binding?.kind !== 'oidc')
        return undefined;
    let payload;
    try {
        payload = (0,decode_jwt/* decodeJwt */.i)(binding.token);
    }
    catch {
        return undefined;
    }
    const run = { issuer: binding.issuer, issued_at: typeof payload.iat === 'number' ? new Date(payload.iat * 1000).toISOString() : 'an unknown time' };
    for (const claim of RUN_CLAIMS)
        if (payload[claim] !== undefined)
            run[claim] = String(payload[claim]);
    return run;
}
/** The run a checked binding names, in one line: repository, workflow, ref, sha, run and attempt. */
function binding_describeRun(run) {
    const parts = [
        `repository ${describeRepository(run)}`,
        run.workflow && `workflow ${tokenText(run.workflow)}`,
        run.ref && `ref ${tokenText(run.ref)}`,
        run.sha && `sha ${tokenText(run.sha)}`,
        run.run_id && `run ${tokenText(run.run_id)}${run.run_attempt ? ` attempt ${tokenText(run.run_attempt)}` : ''}`,
    ].filter(Boolean);
    return `${parts.join(', ')}; token issued by ${run.issuer} at ${run.issued_at}`;
}

// EXTERNAL MODULE: external "node:readline"
var external_node_readline_ = __webpack_require__(80481);
;// CONCATENATED MODULE: ./runner-proxy/src/recording/events.ts
/**
 * Every event type the recorder writes, in one place: `Recorder.append` and `Governor.note` take only
 * these, and the report, the job summary and replay read their severity, whether each is an incident
 * and their label from here. A unit test (events.test.ts) fails when a type listed here is written
 * nowhere in the sources.
 *
 * Severity: `info` is the session's course; `warning` something the gateway refused or could not
 * relay, the job going on; `error` something that failed. An incident is an event the report and the
 * summary list on their own: a refusal or a failure that no listed operation shows.
 */
const EVENTS = {
    'session.start': { severity: 'info', incident: false, label: 'session start', meaning: 'the gateway began recording: session id, identity, the policy and its digest, the signing key, the job binding' },
    'listener.ready': { severity: 'info', incident: false, label: 'listening', meaning: 'a connection of the policy listens: its protocol, target and the variables exported to the job' },
    'session.end': { severity: 'info', incident: false, label: 'session end', meaning: 'the session ended: why, and the manifest counts' },
    'process.start': { severity: 'info', incident: false, label: 'command started', detail: 'command', meaning: 'govern run started the job command (its text masked)' },
    'process.exit': { severity: 'info', incident: false, label: 'command exited', meaning: "the job command's exit status or signal and duration" },
    'connection.open': { severity: 'info', incident: false, label: 'connection opened', detail: 'peer', meaning: 'the job opened a connection through a listener: its peer, and what the protocol says of the client' },
    'connection.close': { severity: 'info', incident: false, label: 'connection closed', detail: 'reason', meaning: 'a job connection ended, naming its connection.open and why' },
    operation: { severity: 'info', incident: false, label: 'operation', detail: 'text', meaning: 'one statement, command or request as classified, with the verdict, the rule and the masks it got' },
    results: { severity: 'info', incident: false, label: 'results', meaning: 'results of earlier operations with no other event to ride on within 10 ms' },
    discovery: { severity: 'info', incident: false, label: 'discovery', meaning: 'what results revealed (source columns, detector matches), for policy suggest and policy test' },
    'approval.requested': { severity: 'info', incident: false, label: 'approval requested', detail: 'request_id', meaning: 'an operation is held until a person decides: the request id, the rule and where approvers answer' },
    'approval.decided': { severity: 'info', incident: false, label: 'approval decided', detail: 'outcome', meaning: 'a held operation was approved, denied or timed out, by whom and why' },
    cancel: { severity: 'info', incident: false, label: 'cancel request', meaning: 'a PostgreSQL cancel request was relayed to the target' },
    transfer: { severity: 'info', incident: false, label: 'file transfer', detail: 'path', meaning: 'an SFTP file transfer finished: path, direction, bytes and SHA-256' },
    tunnel: { severity: 'info', incident: false, label: 'tunnel', detail: 'host', meaning: 'a CONNECT tunnel to a host the policy lets through unread ended: bytes each way and duration' },
    'websocket.frame': { severity: 'info', incident: false, label: 'WebSocket frame', meaning: 'a WebSocket frame relayed on an upgraded HTTP connection (text frames masked)' },
    'ssh.unsupported': { severity: 'warning', incident: false, label: 'not relayed', detail: 'feature', meaning: 'a rule allowed agent or X11 forwarding, which the gateway does not relay; the operation is listed' },
    'ssh.env.refused': { severity: 'warning', incident: false, label: 'environment variable refused', detail: 'name', meaning: 'an SSH env request the target does not allow, refused (clients send LANG and LC_* routinely)' },
    'auth.failed': { severity: 'warning', incident: true, label: 'authentication refused', detail: 'message', meaning: "a job connection without the job's credentials was refused" },
    'proxy.refused': { severity: 'warning', incident: true, label: 'egress refused', detail: 'host', meaning: "the forward proxy refused a host and port not on the policy's egress list" },
    'protocol.violation': { severity: 'warning', incident: true, label: 'protocol violation', detail: 'message', meaning: 'a PostgreSQL message the gateway cannot read safely ended its connection' },
    'protocol.refused': { severity: 'warning', incident: true, label: 'command refused', detail: 'command', meaning: 'a MySQL command the gateway does not relay, or text it cannot read as the target will (sql_mode), was refused; the connection stays' },
    'http.malformed': { severity: 'warning', incident: true, label: 'malformed request', detail: 'problem', meaning: 'an HTTP request the parser refused (two lengths, bare CR or LF, oversized head…) ended its connection' },
    'http.ambiguous': { severity: 'warning', incident: true, label: 'ambiguous request', detail: 'problem', meaning: 'an HTTP request the target could read otherwise than the rules do was refused' },
    'connection.failed': { severity: 'error', incident: true, label: 'target connection failed', detail: 'message', meaning: 'the target could not be reached or refused the connection the gateway opened for the job' },
    'protocol.error': { severity: 'error', incident: true, label: 'SFTP error', detail: 'error', meaning: 'an SFTP stream the gateway could not follow was closed' },
    'gateway.fault': { severity: 'error', incident: true, label: 'gateway fault', detail: 'error', meaning: "an error escaped a connection's own handling: that connection ended and the gateway served on" },
};
/** The catalogue's entry for a type read from a bundle, which may come from another version of govern. */
function eventKind(type) {
    return Object.hasOwn(EVENTS, type) ? EVENTS[type] : undefined;
}
/** What the report, the summary and replay call a type: its label, or the type itself when the catalogue lacks it. */
function events_eventLabel(type) {
    return eventKind(type)?.label ?? type;
}
/** The event's label and, when its detail field is set, that detail: how the report and replay name it. */
function describeEvent(event) {
    const kind = eventKind(event.type);
    const value = kind?.detail === undefined ? undefined : event[kind.detail];
    return { ...(kind && { kind }), label: events_eventLabel(event.type), detail: value === undefined || value === null ? '' : String(value) };
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/session-view.ts




/**
 * What auditors look at, read from events.jsonl one line at a time: the session's facts and every
 * operation with what became of it, in a compact form that report.html embeds and the job summary
 * condenses. Texts are kept once however often they repeat.
 */
/** What became of an operation, as the report and the summary name it. */
const session_view_VERDICTS = ['allow', 'block', 'approved', 'denied', 'timed out', 'would block', 'would hold', 'held'];
const V = Object.fromEntries(session_view_VERDICTS.map((v, i) => [v, i]));
/** Verdicts an auditor looks at first: everything that was stopped, released by a person, or would have been stopped. */
const EXCEPTIONS = new Set(['block', 'denied', 'timed out', 'approved', 'would block', 'would hold', 'held']);
/** One operation: indexes into `strings`, numbers, and -1 for "not recorded". */
const session_view_Col = {
    Seq: 0,
    /** Milliseconds since the session started. */
    At: 1,
    Connection: 2,
    Text: 3,
    Fingerprint: 4,
    Verdict: 5,
    Rule: 6,
    Classes: 7,
    DurationMs: 8,
    Rows: 9,
    Tag: 10,
    Masked: 11,
    /** The masking rules applied to the operation's results, space-separated. */
    Masks: 12,
    /** Its statement group: an index into `groups`. */
    Group: 13,
    /** The seq of its client connection's `connection.open` (-1 where the protocol's adapter keeps none). */
    Client: 14,
};
const GroupCol = { Connection: 0, Fingerprint: 1, Count: 2, Rows: 3, Masked: 4, Verdicts: 5 };
/**
 * Past this many operations only the exceptions are listed; the rest are counted in their statement
 * groups. This bounds the report's size (and the gateway's memory) however long the session.
 */
const MAX_LISTED_OPS = 200_000;
/** Client connections listed one by one; more are counted. */
const MAX_LISTED_CLIENTS = 10_000;
/** Incidents listed one by one; more are counted by type. */
const MAX_LISTED_INCIDENTS = 10_000;
/** A statement longer than this is cut in the report; events.jsonl keeps it whole. */
const MAX_TEXT = 16 * 1024;
/** The statement's shape: literals and numbers become ?, lists collapse, whitespace is folded. */
function fingerprint(text) {
    return text
        .replace(/'(?:[^']|'')*'/g, '?')
        // Placeholders ($1) stay as written: they are the statement's shape, not its values.
        .replace(/(?<!\$)\b\d+(?:\.\d+)?\b/g, '?')
        .replace(/\(\s*\?(?:\s*,\s*\?)+\s*\)/g, '(?)')
        .replace(/\s+/g, ' ')
        .trim();
}
/** Builds the view event by event; `read` streams a file through it. */
class SessionViewBuilder {
    #view = { format: 2, start_ms: 0, connections: [], clients: [], groups: [], strings: [], ops: [], details: {}, incidents: [], incident_counts: {}, omitted: 0 };
    #stringIndex = new Map();
    #tally = new GroupTally(this.#view.groups);
    /** Op rows by event seq, so results and approvals find their operation. */
    #bySeq = new Map();
    /** Groups of unlisted operations whose result has not come yet (a result comes once, soon after). */
    #unlisted = new Map();
    #clientsOmitted = 0;
    #str(s) {
        let i = this.#stringIndex.get(s);
        if (i === undefined) {
            i = this.#view.strings.push(s) - 1;
            this.#stringIndex.set(s, i);
        }
        return i;
    }
    #detail(row) {
        return (this.#view.details[row] ??= {});
    }
    add(e) {
        const view = this.#view;
        // Results of earlier operations ride on the next event recorded (see Governor.completed).
        for (const result of e.results ?? [])
            this.#result(result);
        switch (e.type) {
            case 'session.start':
                view.start_ms = Date.parse(e.ts);
                view.session = {
                    id: e.session_id,
                    identity: e.identity,
                    policy: e.policy,
                    public_key: e.public_key,
                    ...(e.job_binding !== undefined && { job_binding: e.job_binding }),
                };
                return;
            case 'connection.open':
                if (view.clients.length >= MAX_LISTED_CLIENTS)
                    return void this.#clientsOmitted++;
                view.clients.push({
                    seq: e.seq,
                    ts: e.ts,
                    connection: String(e.connection),
                    protocol: String(e.protocol),
                    ...(e.peer !== undefined && { peer: String(e.peer) }),
                    ...(e.application_name !== undefined && { application_name: String(e.application_name) }),
                });
                return;
            case 'listener.ready':
                view.connections.push({ name: String(e.connection), protocol: String(e.protocol), target: String(e.target) });
                return;
            case 'process.start':
                view.command = { text: String(e.command) };
                return;
            case 'process.exit':
                view.command = {
                    text: view.command?.text ?? '',
                    status: e.status,
                    signal: e.signal,
                    duration_ms: e.duration_ms,
                    ...(e.error !== undefined && { error: String(e.error) }),
                };
                return;
            case 'session.end':
                view.end = { ts: e.ts, reason: String(e.reason) };
                return;
            case 'operation':
                return this.#operation(e);
            case 'approval.requested': {
                const row = this.#bySeq.get(e.op);
                if (row === undefined)
                    return;
                this.#detail(row).approval = { id: String(e.request_id), via: String(e.via), requested_at: e.ts };
                this.#reverdict(row, V.held);
                return;
            }
            case 'approval.decided': {
                const row = this.#bySeq.get(e.op);
                if (row === undefined)
                    return;
                const approval = (this.#detail(row).approval ??= { id: String(e.request_id) });
                Object.assign(approval, {
                    outcome: String(e.outcome),
                    by: String(e.by),
                    ...(e.reason !== undefined && e.reason !== null && { reason: String(e.reason) }),
                    ...(approval.requested_at && { wait_ms: Date.parse(e.ts) - Date.parse(approval.requested_at) }),
                });
                this.#reverdict(row, e.outcome === 'approved' ? V.approved : e.outcome === 'timeout' ? V['timed out'] : V.denied);
                if (e.outcome !== 'approved')
                    this.#detail(row).told = deniedMessage(String(e.outcome), String(e.by), e.reason, String(e.rule ?? this.#view.strings[view.ops[row][session_view_Col.Rule]]), String(e.request_id));
                return;
            }
            default: {
                const { kind, detail } = describeEvent(e);
                if (!kind?.incident)
                    return;
                view.incident_counts[e.type] = (view.incident_counts[e.type] ?? 0) + 1;
                if (view.incidents.length < MAX_LISTED_INCIDENTS)
                    view.incidents.push({ ts: e.ts, type: e.type, ...(e.connection !== undefined && { connection: String(e.connection) }), message: detail });
            }
        }
    }
    #reverdict(row, verdict) {
        const op = this.#view.ops[row];
        this.#tally.reverdict(op[session_view_Col.Group], op[session_view_Col.Verdict], verdict);
        op[session_view_Col.Verdict] = verdict;
    }
    #result(e) {
        const seq = e.op;
        const rows = e.rows ?? -1;
        const masked = e.masked ?? 0;
        const unlisted = this.#unlisted.get(seq);
        if (unlisted !== undefined) {
            this.#unlisted.delete(seq);
            return this.#tally.result(unlisted, rows, masked);
        }
        const row = this.#bySeq.get(seq);
        if (row === undefined)
            return;
        const op = this.#view.ops[row];
        op[session_view_Col.DurationMs] = e.duration_ms ?? -1;
        op[session_view_Col.Rows] = rows;
        if (e.tag !== undefined)
            op[session_view_Col.Tag] = this.#str(String(e.tag));
        op[session_view_Col.Masked] = masked;
        this.#tally.result(op[session_view_Col.Group], rows, masked);
        if (e.bytes !== undefined)
            this.#detail(row).bytes = e.bytes;
        if (e.error !== undefined)
            this.#detail(row).error = String(e.error);
        if (e.masked_by !== undefined)
            this.#detail(row).masked_by = e.masked_by;
    }
    #operation(e) {
        const view = this.#view;
        const verdict = reportVerdict(e);
        const full = String(e.text ?? '');
        const text = full.length > MAX_TEXT ? `${full.slice(0, MAX_TEXT)}… (${full.length} characters; the whole text is in events.jsonl)` : full;
        const shape = fingerprint(text.length > 2048 ? text.slice(0, 2048) : text);
        const connection = this.#str(String(e.connection));
        const shapeIndex = this.#str(shape);
        const group = this.#tally.add(connection, shapeIndex, V[verdict]);
        if (view.ops.length >= MAX_LISTED_OPS && verdict === 'allow') {
            view.omitted++;
            this.#unlisted.set(e.seq, group);
            return;
        }
        const masks = e.masks;
        const row = [
            e.seq,
            Date.parse(e.ts) - view.start_ms,
            connection,
            this.#str(text),
            shapeIndex,
            V[verdict],
            e.rule !== undefined ? this.#str(String(e.rule)) : -1,
            this.#str((e.classes ?? []).join(' ')),
            -1,
            -1,
            -1,
            0,
            masks?.length ? this.#str(masks.join(' ')) : -1,
            group,
            typeof e.client === 'number' ? e.client : -1,
        ];
        const index = view.ops.push(row) - 1;
        this.#bySeq.set(e.seq, index);
        if (e.told !== undefined)
            this.#detail(index).told = String(e.told);
    }
    /** Client connections past the listed ones, counted. */
    get clientsOmitted() {
        return this.#clientsOmitted;
    }
    get view() {
        return this.#view;
    }
    /** Streams events.jsonl through a new builder: one line parsed at a time. */
    static async read(eventsPath) {
        const builder = new SessionViewBuilder();
        const lines = (0,external_node_readline_.createInterface)({ input: (0,external_node_fs_.createReadStream)(eventsPath, { encoding: 'utf8' }), crlfDelay: Infinity });
        for await (const line of lines) {
            if (!line)
                continue;
            let event;
            try {
                event = JSON.parse(line);
            }
            catch {
                // A torn last line of a crashed session: verify reports it; the report shows what came before.
                continue;
            }
            builder.add(event);
        }
        return builder.view;
    }
}
/** In observe mode the event's verdict is the policy's and `enforced` what happened. */
function reportVerdict(e) {
    const policy = String(e.verdict);
    if (e.enforced === 'allow' && policy === 'block')
        return 'would block';
    if (e.enforced === 'allow' && policy === 'approve')
        return 'would hold';
    return policy === 'block' ? 'block' : policy === 'approve' ? 'held' : 'allow';
}
/** The verdicts of every operation, the unlisted ones too, from the statement groups. */
function countVerdicts(view) {
    const byVerdict = Object.fromEntries(session_view_VERDICTS.map((v) => [v, 0]));
    let masked = 0;
    let operations = 0;
    for (const g of view.groups) {
        session_view_VERDICTS.forEach((v, i) => (byVerdict[v] += g[GroupCol.Verdicts + i]));
        masked += g[GroupCol.Masked];
        operations += g[GroupCol.Count];
    }
    return { operations, byVerdict, masked };
}
/** How many incidents the session had, the unlisted ones too. */
function session_view_countIncidents(view) {
    return Object.values(view.incident_counts).reduce((sum, count) => sum + count, 0);
}
/** The incidents in a few words, by their catalogue label, most frequent first: "3 incidents (2 authentication refused, 1 egress refused)"; empty when there are none. */
function session_view_describeIncidents(view) {
    const total = session_view_countIncidents(view);
    if (total === 0)
        return '';
    const labels = Object.entries(view.incident_counts)
        .sort((a, b) => b[1] - a[1])
        .map(([type, count]) => `${count.toLocaleString('en-US')} ${events_eventLabel(type)}`);
    return `${total.toLocaleString('en-US')} incident${total === 1 ? '' : 's'} (${labels.join(', ')})`;
}
/** The run as one word: blocked when anything was blocked, denied when an approval was refused or ran out. */
function runVerdict(counts) {
    const v = counts.byVerdict;
    if (v.block)
        return 'blocked';
    if (v.denied || v['timed out'] || v.held)
        return 'denied';
    return 'pass';
}
/**
 * Operations grouped by connection and fingerprint, most frequent first: every operation of the
 * session, or only the listed operations at `rows` (by row index).
 */
function session_view_groupStatements(view, rows) {
    let groups = view.groups;
    if (rows) {
        groups = [];
        const tally = new GroupTally(groups);
        for (const row of rows) {
            const op = view.ops[row];
            const g = tally.add(op[session_view_Col.Connection], op[session_view_Col.Fingerprint], op[session_view_Col.Verdict]);
            tally.result(g, op[session_view_Col.Rows], op[session_view_Col.Masked]);
        }
    }
    return groups
        .map((g) => ({
        fingerprint: view.strings[g[GroupCol.Fingerprint]],
        connection: view.strings[g[GroupCol.Connection]],
        count: g[GroupCol.Count],
        verdicts: Object.fromEntries(session_view_VERDICTS.map((v, i) => [v, g[GroupCol.Verdicts + i]]).filter(([, n]) => n)),
        rows: g[GroupCol.Rows],
        masked: g[GroupCol.Masked],
    }))
        .sort((a, b) => b.count - a.count);
}
/** Keeps the statement groups: one row per connection and shape, counted as operations come and finish. */
class GroupTally {
    #groups;
    #index = new Map();
    constructor(groups) {
        this.#groups = groups;
    }
    /** Counts an operation in its group (by the string indexes of its connection and shape) and returns the group. */
    add(connection, shape, verdict) {
        // Both indexes stay far below 2^26, so one number keys the pair.
        const key = shape * 67_108_864 + connection;
        let g = this.#index.get(key);
        if (g === undefined) {
            const row = [connection, shape, 0, 0, 0, ...session_view_VERDICTS.map(() => 0)];
            g = this.#groups.push(row) - 1;
            this.#index.set(key, g);
        }
        const row = this.#groups[g];
        row[GroupCol.Count]++;
        row[GroupCol.Verdicts + verdict]++;
        return g;
    }
    result(g, rows, masked) {
        const row = this.#groups[g];
        if (rows > 0)
            row[GroupCol.Rows] += rows;
        row[GroupCol.Masked] += masked;
    }
    reverdict(g, from, to) {
        const row = this.#groups[g];
        row[GroupCol.Verdicts + from]--;
        row[GroupCol.Verdicts + to]++;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/report-data.ts

const OP_COLUMNS = ['seq', 'at', 'conn', 'verdict', 'rule', 'classes', 'dur', 'rows', 'tag', 'masked', 'masks', 'group', 'template', 'detail', 'client'];
/** Quoted strings and numbers: what varies between executions of one statement. */
const LITERAL = /'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b/g;
function reportData(view) {
    const order = groupOrder(view.groups);
    const rank = new Map(order.map((g, i) => [g, i]));
    const exceptions = [];
    const allowed = [];
    view.ops.forEach((op, i) => (EXCEPTIONS.has(session_view_VERDICTS[op[session_view_Col.Verdict]]) ? exceptions : allowed).push(i));
    const s = (i) => view.strings[i];
    const identity = (view.session?.identity ?? {});
    const claims = identity.claims ?? {};
    const summary = {
        format: 2,
        start_ms: view.start_ms,
        requester: String(claims.actor ?? claims.user_login ?? identity.subject ?? (identity.kind === 'none' ? 'the job (no identity)' : 'the job')),
        total: view.groups.reduce((n, g) => n + g[GroupCol.Count], 0),
        omitted: view.omitted,
        incidents: view.incidents,
        clients: Object.fromEntries(view.clients.map((c) => [c.seq, [`#${c.seq}`, c.peer && `from ${c.peer}`, c.application_name && `as ${c.application_name}`, `connected at ${c.ts}`].filter(Boolean).join(' ')])),
        filters: filters(view),
        groups: order.map((g) => {
            const row = view.groups[g];
            const verdicts = row.slice(GroupCol.Verdicts);
            return [s(row[GroupCol.Connection]), s(row[GroupCol.Fingerprint]), row[GroupCol.Count], row[GroupCol.Rows], row[GroupCol.Masked], row[GroupCol.Count] - verdicts[0], ...verdicts];
        }),
    };
    return { summary, exceptions: encodeOps(view, exceptions, rank), allowed: encodeOps(view, allowed, rank) };
}
/** Groups with exceptions first, then the most frequent. */
function groupOrder(groups) {
    const exceptions = (g) => g[GroupCol.Count] - g[GroupCol.Verdicts];
    return groups.map((_, i) => i).sort((a, b) => Number(exceptions(groups[b]) > 0) - Number(exceptions(groups[a]) > 0) || groups[b][GroupCol.Count] - groups[a][GroupCol.Count]);
}
function filters(view) {
    const present = session_view_VERDICTS.filter((_, i) => view.groups.some((g) => g[GroupCol.Verdicts + i] > 0));
    const distinct = (cols) => {
        const seen = new Set();
        const indexes = new Set();
        for (const op of view.ops)
            for (const c of cols)
                if (op[c] >= 0)
                    indexes.add(op[c]);
        for (const i of indexes)
            for (const word of view.strings[i].split(' '))
                if (word)
                    seen.add(word);
        return [...seen].sort();
    };
    return {
        verdicts: present,
        connections: [...new Set([...view.connections.map((c) => c.name), ...view.groups.map((g) => view.strings[g[GroupCol.Connection]])])].sort(),
        rules: distinct([session_view_Col.Rule, session_view_Col.Masks]),
        classes: distinct([session_view_Col.Classes]),
    };
}
function encodeOps(view, rows, groupRank) {
    const strings = [];
    const index = new Map();
    const local = (i) => {
        if (i < 0)
            return -1;
        const text = view.strings[i];
        let j = index.get(text);
        if (j === undefined)
            index.set(text, (j = strings.push(text) - 1));
        return j;
    };
    const columns = Object.fromEntries(OP_COLUMNS.map((c) => [c, new VarintColumn()]));
    const literals = [];
    const details = [];
    const detailIndex = new Map();
    let seq = 0;
    let at = 0;
    rows.forEach((row) => {
        const op = view.ops[row];
        columns.seq.push(op[session_view_Col.Seq] - seq);
        columns.at.push(op[session_view_Col.At] - at);
        [seq, at] = [op[session_view_Col.Seq], op[session_view_Col.At]];
        columns.conn.push(local(op[session_view_Col.Connection]));
        columns.verdict.push(op[session_view_Col.Verdict]);
        columns.rule.push(local(op[session_view_Col.Rule]));
        columns.classes.push(local(op[session_view_Col.Classes]));
        columns.dur.push(op[session_view_Col.DurationMs] < 0 ? -1 : Math.round(op[session_view_Col.DurationMs] * 1000));
        columns.rows.push(op[session_view_Col.Rows]);
        columns.tag.push(local(op[session_view_Col.Tag]));
        columns.masked.push(op[session_view_Col.Masked]);
        columns.masks.push(local(op[session_view_Col.Masks]));
        columns.group.push(groupRank.get(op[session_view_Col.Group]));
        columns.client.push(op[session_view_Col.Client]);
        const { template, literal } = splitLiterals(view.strings[op[session_view_Col.Text]]);
        if (template === undefined)
            columns.template.push(-1);
        else {
            let j = index.get(template);
            if (j === undefined)
                index.set(template, (j = strings.push(template) - 1));
            columns.template.push(j);
        }
        literals.push(literal);
        const detail = view.details[row];
        if (!detail)
            columns.detail.push(-1);
        else {
            const key = JSON.stringify(detail);
            let j = detailIndex.get(key);
            if (j === undefined)
                detailIndex.set(key, (j = details.push(detail) - 1));
            columns.detail.push(j);
        }
    });
    return { n: rows.length, strings, cols: Object.fromEntries(OP_COLUMNS.map((c) => [c, columns[c].base64()])), literals, details };
}
/** A text as its template and literals; a text holding either separator is kept whole (no template). */
function splitLiterals(text) {
    if (text.includes('\u0000') || text.includes('\u0001'))
        return { literal: text };
    const found = [];
    const template = text.replace(LITERAL, (m) => {
        found.push(m);
        return '\u0000';
    });
    if (found.some((l) => l.includes('\u0001')))
        return { literal: text };
    return { template, literal: found.join('\u0001') };
}
/** Integers as zigzag LEB128 varints: one byte for most values of a column. */
class VarintColumn {
    #bytes = Buffer.alloc(1024);
    #length = 0;
    push(value) {
        if (this.#length + 10 > this.#bytes.length) {
            const grown = Buffer.alloc(this.#bytes.length * 2);
            this.#bytes.copy(grown, 0, 0, this.#length);
            this.#bytes = grown;
        }
        // Zigzag without 32-bit operators: values may pass 2^31 (rows of a large table).
        let v = value >= 0 ? value * 2 : -value * 2 - 1;
        while (v >= 128) {
            this.#bytes[this.#length++] = (v % 128) + 128;
            v = Math.floor(v / 128);
        }
        this.#bytes[this.#length++] = v;
    }
    base64() {
        return this.#bytes.toString('base64', 0, this.#length);
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/report-viewer.ts
/**
 * The inline viewer of report.html. Plain browser JavaScript, no dependency, no network. Every value
 * from the session reaches the page through textContent, never as HTML. Tables show one page at a
 * time; the first screen (exceptions, statement groups) is drawn from the small summary and the
 * exceptions alone, and every operation is decoded (report-data.ts's encoding) only when a click,
 * a filter or the search needs it.
 */
const VIEWER_STYLE = [
    'body{font:14px/1.45 system-ui,sans-serif;margin:0;padding:1em 2em;color:#1b1f24;background:#fff}',
    'h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em}',
    'code,pre{font:12.5px ui-monospace,SFMono-Regular,Menlo,monospace}pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;padding:.5em;margin:.2em 0}',
    '.run{padding:.1em .5em;border-radius:.3em;color:#fff;font-size:.8em;text-transform:uppercase}.run-pass{background:#1a7f37}.run-blocked{background:#cf222e}.run-denied{background:#bc4c00}',
    '.mode{font-size:.7em;color:#57606a;border:1px solid #d0d7de;padding:.1em .4em;border-radius:.3em}',
    'dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:.5em 0}dt{color:#57606a}dd{margin:0}',
    '.pill{display:inline-block;padding:0 .45em;border-radius:1em;margin:0 .15em;font-size:.9em}',
    'table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{border-bottom:1px solid #d8dee4;padding:.25em .4em;text-align:left;vertical-align:top;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}',
    'th{background:#f6f8fa;font-weight:600}tr.op,tr.group{cursor:pointer}tr.op:hover,tr.group:hover{background:#f3f6fa}',
    'td.detail{white-space:normal;background:#fbfcfd}td.detail dl{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.3em 0}',
    '.v-allow{color:#1a7f37}.v-block{color:#fff;background:#cf222e}.v-approved{color:#fff;background:#8250df}.v-denied,.v-timed-out{color:#fff;background:#bc4c00}.v-would-block{color:#7d4e00;background:#fff8c5;outline:1px solid #d4a72c}.v-would-hold{color:#0550ae;background:#ddf4ff;outline:1px solid #54aeff}.v-held{color:#fff;background:#6e7781}',
    'span.verdict{padding:0 .35em;border-radius:.25em;white-space:nowrap}',
    '.filters{display:flex;flex-wrap:wrap;gap:.5em;align-items:center;position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #d0d7de;z-index:1}',
    '.filters input[type=search]{min-width:18em}.pager{margin:.4em 0;color:#57606a}.pager button{margin:0 .3em}',
    '.empty{color:#57606a;font-style:italic}.incidents{color:#bc4c00}',
    'col.c-v{width:9em}col.c-n{width:5.5em}col.c-t{width:12.5em}col.c-c{width:8em}col.c-r{width:10em}col.c-x{width:5.5em}',
    // What decides an operation's meaning (its verdicts, its rules) wraps rather than being cut off.
    'td.verdicts,td.wrap{white-space:normal;overflow:visible;text-overflow:clip}td.verdicts .verdict{display:inline-block;margin:0 .2em .1em 0}',
    '.bound{color:#1a7f37;font-weight:600}.unbound{color:#bc4c00;font-weight:600}details pre{max-height:30em;overflow:auto}table.clients td{white-space:normal}',
].join('');
const VIEWER_SCRIPT = String.raw `(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('govern-data').textContent);
  var VERDICTS = ['allow', 'block', 'approved', 'denied', 'timed out', 'would block', 'would hold', 'held'];
  var ICONS = ['\u2713', '\u2298', '\u2714', '\u2716', '\u29d6', '\u25b2', '\u2016', '\u2026'];
  var G_CONN = 0, G_FP = 1, G_COUNT = 2, G_ROWS = 3, G_MASKED = 4, G_EXC = 5, G_VERDICTS = 6;
  var PAGE = 100;
  var state = { verdict: '', connection: '', rule: '', cls: '', q: '', view: 'groups' };
  var EXC = decodeOps('govern-exceptions');
  var ALL = null;

  /** Zigzag LEB128 varints from base64; "delta" columns are running sums. */
  function column(b64, n, delta) {
    var bin = atob(b64), out = new Array(n), v = 0, scale = 1, k = 0, sum = 0;
    for (var i = 0; i < bin.length; i++) {
      var b = bin.charCodeAt(i);
      v += (b & 127) * scale;
      if (b < 128) {
        var x = v % 2 ? -(v + 1) / 2 : v / 2;
        out[k++] = delta ? (sum += x) : x;
        v = 0; scale = 1;
      } else scale *= 128;
    }
    return out;
  }
  function decodeOps(id) {
    var E = JSON.parse(document.getElementById(id).textContent), n = E.n, S = E.strings, c = {};
    Object.keys(E.cols).forEach(function (k) { c[k] = column(E.cols[k], n, k === 'seq' || k === 'at'); });
    var str = function (i) { return i < 0 ? '' : S[i]; };
    var ops = new Array(n);
    for (var i = 0; i < n; i++) {
      var t = c.template[i], text = E.literals[i];
      if (t >= 0) {
        var parts = S[t].split('\u0000'), lits = text.split('\u0001');
        text = parts[0];
        for (var j = 1; j < parts.length; j++) text += lits[j - 1] + parts[j];
      }
      ops[i] = { seq: c.seq[i], at: c.at[i], conn: str(c.conn[i]), text: text, verdict: c.verdict[i], rule: str(c.rule[i]), classes: str(c.classes[i]),
        dur: c.dur[i] < 0 ? -1 : c.dur[i] / 1000, rows: c.rows[i], tag: str(c.tag[i]), masked: c.masked[i], masks: str(c.masks[i]), group: c.group[i], client: c.client[i], d: c.detail[i] < 0 ? {} : E.details[c.detail[i]] };
    }
    return ops;
  }
  /** Every listed operation in order: the exceptions merged back among the others. */
  function allOps() {
    if (ALL) return ALL;
    var rest = decodeOps('govern-allowed'), out = [], a = 0, b = 0;
    while (a < EXC.length || b < rest.length) out.push(b >= rest.length || (a < EXC.length && EXC[a].seq < rest[b].seq) ? EXC[a++] : rest[b++]);
    return (ALL = out);
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function num(n) { return n < 0 ? '' : n.toLocaleString('en-US'); }
  function short(s, max) { s = s.replace(/\s+/g, ' '); return s.length > max ? s.slice(0, max - 1) + '\u2026' : s; }
  function clock(ms) {
    var m = Math.floor(ms / 60000), s = ((ms % 60000) / 1000).toFixed(3);
    return (m < 10 ? '0' : '') + m + ':' + (s.length < 6 ? '0' : '') + s;
  }
  function absolute(ms) { return new Date(D.start_ms + ms).toISOString(); }
  function isException(op) { return op.verdict !== 0; }
  function verdictBadge(v, count) {
    var b = el('span', 'verdict v-' + VERDICTS[v].replace(' ', '-'), ICONS[v] + ' ' + VERDICTS[v] + (count !== undefined ? ' \u00d7 ' + num(count) : ''));
    b.title = VERDICTS[v];
    return b;
  }
  function rules(op) { return [op.rule, op.masks && 'masked by ' + op.masks].filter(Boolean).join('; '); }
  function select(name, label, values, labels) {
    var s = el('select');
    s.id = 'filter-' + name;
    s.setAttribute('aria-label', label);
    s.appendChild(el('option', '', 'every ' + label)).value = '';
    for (var i = 0; i < values.length; i++) s.appendChild(el('option', '', labels ? labels[i] : values[i])).value = values[i];
    s.addEventListener('change', function () { state[name] = s.value; render(); });
    return s;
  }
  function filtering() { return state.verdict || state.connection || state.rule || state.cls || state.q; }
  function matches(op) {
    if (state.verdict !== '') {
      if (state.verdict === 'exceptions' ? !isException(op) : VERDICTS[op.verdict] !== state.verdict) return false;
    }
    if (state.connection && op.conn !== state.connection) return false;
    if (state.rule && op.rule !== state.rule && (' ' + op.masks + ' ').indexOf(' ' + state.rule + ' ') < 0) return false;
    if (state.cls && (' ' + op.classes + ' ').indexOf(' ' + state.cls + ' ') < 0) return false;
    if (state.q) {
      var l = op.lower || (op.lower = op.text.toLowerCase());
      if (l.indexOf(state.q) < 0 && rules(op).toLowerCase().indexOf(state.q) < 0) return false;
    }
    return true;
  }

  function detail(op) {
    var d = op.d;
    var dl = el('dl');
    function row(name, value) {
      if (value === undefined || value === null || value === '') return;
      dl.appendChild(el('dt', '', name));
      var dd = dl.appendChild(el('dd'));
      if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
    }
    row('operation', el('pre', 'full-text', op.text));
    row('verdict', verdictBadge(op.verdict));
    if (d.told) row(op.verdict >= 5 ? 'the job would have been told' : 'the job was told', d.told);
    row('event', '#' + op.seq + ' at ' + absolute(op.at) + ' (+' + clock(op.at) + ')');
    row('connection', op.conn);
    if (op.client >= 0) row('client', D.clients[op.client] || '#' + op.client);
    row('classes', op.classes || 'none');
    if (op.rule) row('rule', op.rule);
    if (op.masks) row('masking rules', op.masks);
    if (op.dur >= 0) row('duration', op.dur + ' ms');
    if (op.tag) row('command tag', op.tag);
    if (op.rows >= 0) row('rows', num(op.rows) + (op.tag && /^(INSERT|UPDATE|DELETE|MERGE|COPY)/.test(op.tag) ? ' affected' : ' returned'));
    if (d.bytes !== undefined) row('bytes', num(d.bytes));
    if (op.masked > 0 || d.masked_by) {
      var by = d.masked_by ? Object.keys(d.masked_by).map(function (k) { return k + ' ' + d.masked_by[k]; }).join(', ') : '';
      row('masked values', num(op.masked) + (by ? ' (' + by + ')' : ''));
    }
    if (d.error) row('error', d.error);
    if (d.approval) {
      var a = d.approval;
      row('approval', a.id + (a.via ? ' via ' + a.via : ''));
      row('requested by', D.requester);
      if (a.outcome) row('decision', a.outcome + (a.by ? ' by ' + a.by : ''));
      if (a.reason) row('reason', a.reason);
      if (a.wait_ms !== undefined) row('waited', (a.wait_ms / 1000).toFixed(1) + ' s');
    }
    return dl;
  }

  function opTable(ops, page, onPage) {
    var wrap = el('div');
    var table = wrap.appendChild(el('table', 'ops'));
    var cols = table.appendChild(el('colgroup'));
    ['c-v', 'c-n', 'c-t', 'c-c', '', 'c-r', 'c-x', 'c-x'].forEach(function (c) { cols.appendChild(el('col', c)); });
    var head = table.appendChild(el('thead')).appendChild(el('tr'));
    ['verdict', 'event', 'time (UTC)', 'connection', 'operation', 'rule', 'rows', 'ms'].forEach(function (h) { head.appendChild(el('th', '', h)); });
    var body = table.appendChild(el('tbody'));
    var start = page * PAGE, end = Math.min(ops.length, start + PAGE);
    for (var i = start; i < end; i++) {
      (function (op) {
        var tr = body.appendChild(el('tr', 'op'));
        tr.dataset.seq = op.seq;
        tr.appendChild(el('td', 'verdicts')).appendChild(verdictBadge(op.verdict));
        tr.appendChild(el('td', '', '#' + op.seq));
        var time = tr.appendChild(el('td', 'wrap', absolute(op.at).slice(11, 23) + ' +' + clock(op.at)));
        time.title = absolute(op.at);
        tr.appendChild(el('td', '', op.conn));
        var text = tr.appendChild(el('td', 'text', short(op.text, 300)));
        text.title = short(op.text, 2000);
        tr.appendChild(el('td', 'wrap', rules(op)));
        tr.appendChild(el('td', '', num(op.rows)));
        tr.appendChild(el('td', '', op.dur >= 0 ? op.dur : ''));
        var open = null;
        tr.addEventListener('click', function () {
          if (open) { open.remove(); open = null; return; }
          open = el('tr', 'detail-row');
          var td = open.appendChild(el('td', 'detail'));
          td.colSpan = 8;
          td.appendChild(detail(op));
          tr.after(open);
        });
      })(ops[i]);
    }
    if (ops.length === 0) body.appendChild(el('tr')).appendChild(el('td', 'empty', 'none')).colSpan = 8;
    if (ops.length > PAGE) wrap.appendChild(pager(page, ops.length, onPage));
    return wrap;
  }

  function pager(page, total, onPage) {
    var p = el('div', 'pager');
    var last = Math.ceil(total / PAGE) - 1;
    var prev = p.appendChild(el('button', 'prev', '\u2190 previous'));
    prev.disabled = page === 0;
    prev.addEventListener('click', function (e) { e.stopPropagation(); onPage(page - 1); });
    p.appendChild(el('span', 'range', num(page * PAGE + 1) + '\u2013' + num(Math.min(total, (page + 1) * PAGE)) + ' of ' + num(total)));
    var next = p.appendChild(el('button', 'next', 'next \u2192'));
    next.disabled = page >= last;
    next.addEventListener('click', function (e) { e.stopPropagation(); onPage(page + 1); });
    return p;
  }

  function paged(container, build) {
    function show(page) { container.textContent = ''; container.appendChild(build(page, show)); }
    show(0);
  }

  /** The summary's groups, as rows of the group table. */
  function summaryGroups() {
    return D.groups.map(function (g, i) {
      var verdicts = {};
      for (var v = 0; v < VERDICTS.length; v++) if (g[G_VERDICTS + v]) verdicts[v] = g[G_VERDICTS + v];
      return { index: i, conn: g[G_CONN], fp: g[G_FP], count: g[G_COUNT], rows: g[G_ROWS], masked: g[G_MASKED], exceptions: g[G_EXC], verdicts: verdicts };
    });
  }
  /** Groups of the operations a filter let through (listed ones only). */
  function regroup(ops) {
    var byGroup = {}, list = [];
    for (var i = 0; i < ops.length; i++) {
      var op = ops[i], g = byGroup[op.group];
      if (!g) {
        var s = D.groups[op.group];
        g = byGroup[op.group] = { index: op.group, conn: s[G_CONN], fp: s[G_FP], count: 0, rows: 0, masked: 0, exceptions: 0, verdicts: {}, ops: [] };
        list.push(g);
      }
      g.ops.push(op);
      g.count++;
      g.verdicts[op.verdict] = (g.verdicts[op.verdict] || 0) + 1;
      if (op.rows > 0) g.rows += op.rows;
      g.masked += op.masked;
      if (isException(op)) g.exceptions++;
    }
    return list.sort(function (a, b) { return (b.exceptions > 0) - (a.exceptions > 0) || b.count - a.count; });
  }

  function groupTable(list, page, onPage) {
    var wrap = el('div');
    var table = wrap.appendChild(el('table', 'groups'));
    var cols = table.appendChild(el('colgroup'));
    ['c-r', 'c-n', 'c-c', '', 'c-x', 'c-x'].forEach(function (c) { cols.appendChild(el('col', c)); });
    var head = table.appendChild(el('thead')).appendChild(el('tr'));
    ['verdicts', 'count', 'connection', 'statement', 'rows', 'masked'].forEach(function (h) { head.appendChild(el('th', '', h)); });
    var body = table.appendChild(el('tbody'));
    var start = page * PAGE, end = Math.min(list.length, start + PAGE);
    for (var k = start; k < end; k++) {
      (function (g) {
        var tr = body.appendChild(el('tr', 'group'));
        var vs = tr.appendChild(el('td', 'verdicts'));
        Object.keys(g.verdicts).forEach(function (v) { vs.appendChild(verdictBadge(+v, g.verdicts[v])); });
        tr.appendChild(el('td', 'count', '\u00d7 ' + num(g.count)));
        tr.appendChild(el('td', '', g.conn));
        var text = tr.appendChild(el('td', 'text', short(g.fp, 300)));
        text.title = short(g.fp, 2000);
        tr.appendChild(el('td', '', num(g.rows)));
        tr.appendChild(el('td', '', num(g.masked)));
        var open = null;
        tr.addEventListener('click', function () {
          if (open) { open.remove(); open = null; return; }
          var ops = g.ops || allOps().filter(function (op) { return op.group === g.index; });
          open = el('tr', 'executions');
          var td = open.appendChild(el('td', 'detail'));
          td.colSpan = 6;
          if (ops.length < g.count) td.appendChild(el('p', 'unlisted', num(ops.length) + ' of ' + num(g.count) + ' executions are listed; govern replay shows every one.'));
          var list = td.appendChild(el('div'));
          paged(list, function (p, show) { return opTable(ops, p, show); });
          tr.after(open);
        });
      })(list[k]);
    }
    if (list.length === 0) body.appendChild(el('tr')).appendChild(el('td', 'empty', 'none')).colSpan = 6;
    if (list.length > PAGE) wrap.appendChild(pager(page, list.length, onPage));
    return wrap;
  }

  var main = document.getElementById('viewer');
  main.textContent = '';
  var filters = main.appendChild(el('div', 'filters'));
  var F = D.filters;
  filters.appendChild(select('verdict', 'verdict', ['exceptions'].concat(F.verdicts), ['exceptions only'].concat(F.verdicts)));
  filters.appendChild(select('connection', 'connection', F.connections));
  filters.appendChild(select('rule', 'rule', F.rules));
  filters.appendChild(select('cls', 'class', F.classes));
  var search = filters.appendChild(el('input'));
  search.type = 'search';
  search.id = 'search';
  search.placeholder = 'search statements and rules';
  var timer = 0;
  search.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = search.value.trim().toLowerCase(); render(); }, 120);
  });
  var grouping = filters.appendChild(el('label'));
  var toggle = grouping.appendChild(el('input'));
  toggle.type = 'checkbox';
  toggle.id = 'group-toggle';
  toggle.checked = true;
  grouping.appendChild(document.createTextNode(' group by statement'));
  toggle.addEventListener('change', function () { state.view = toggle.checked ? 'groups' : 'all'; render(); });
  var shown = filters.appendChild(el('span', 'shown'));
  shown.id = 'shown';

  var exceptionsTitle = main.appendChild(el('h2', '', 'Exceptions'));
  exceptionsTitle.id = 'exceptions-title';
  var exceptions = main.appendChild(el('section'));
  exceptions.id = 'exceptions';
  if (D.incidents.length) {
    main.appendChild(el('h2', '', 'Incidents'));
    var list = main.appendChild(el('ul'));
    list.id = 'incident-list';
    D.incidents.forEach(function (x) { list.appendChild(el('li', 'incidents', x.ts + ' ' + (x.connection || '') + ' ' + x.type + ': ' + x.message)); });
  }
  var operationsTitle = main.appendChild(el('h2', '', 'Statements'));
  var operations = main.appendChild(el('section'));
  operations.id = 'operations';

  function render() {
    var all = null, exc = EXC, count = D.total;
    if (filtering()) {
      all = allOps().filter(matches);
      exc = all.filter(isException);
      count = all.length;
    }
    shown.textContent = num(count) + ' of ' + num(D.total) + ' operations';
    exceptionsTitle.textContent = 'Exceptions (' + num(exc.length) + ')';
    paged(exceptions, function (p, show) { return opTable(exc, p, show); });
    operationsTitle.textContent = state.view === 'groups' ? 'Statements, grouped' : 'Every operation';
    paged(operations, function (p, show) {
      if (state.view !== 'groups') return opTable(all || allOps(), p, show);
      return groupTable(all ? regroup(all) : summaryGroups(), p, show);
    });
  }
  render();
  document.documentElement.setAttribute('data-ready', '1');
})();
`;

;// CONCATENATED MODULE: ./runner-proxy/src/recording/report.ts







/**
 * report.html: one self-contained page (no network) that opens from the artifact zip. The facts an
 * auditor asks first are written as HTML, escaped. The first screen's data (statement groups,
 * filters) travels as a small JSON blob; the operations, compactly encoded, in two more that the
 * inline viewer decodes only when they are needed (the exceptions at once, every operation on the
 * first click, filter or search), rendered with textContent only, a page at a time.
 */
/** Every value written as HTML passes through here: SQL text, claims and names are not HTML. */
function report_escapeHtml(value) {
    return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
/** JSON that may sit inside a <script> element: no "<", ">" or "&" can end it or open a comment. */
function scriptSafeJson(value) {
    return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
/** Who the run was, in one line: the forge's claims that identify a job. */
function report_describeIdentity(identity) {
    const record = identity;
    if (!record || record.kind === 'none')
        return 'none (the policy has no identity section)';
    const c = record.claims ?? {};
    const parts = [c.repository ?? c.project_path, c.ref, c.event_name ?? c.pipeline_source, c.actor ?? c.user_login, c.run_id ?? c.pipeline_id].filter((v) => v !== undefined && v !== '');
    return `${parts.length ? parts.join(' · ') : String(record.subject ?? record.issuer)}${record.read_only ? ' (read-only)' : ''}`;
}
function report_formatDuration(ms) {
    if (!Number.isFinite(ms) || ms < 0)
        return '';
    if (ms < 1000)
        return `${Math.round(ms)} ms`;
    const s = ms / 1000;
    if (s < 60)
        return `${s.toFixed(1)} s`;
    const m = Math.floor(s / 60);
    return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
/**
 * The command that checks the bundle: its key, and where it is bound to a job, the repository it
 * must belong to (and the issuer, when it is not GitHub's), so a re-signed or swapped bundle fails.
 */
function report_verifyCommand(facts) {
    const run = binding_recordedRun(facts.job_binding);
    const repository = run?.repository_id ?? run?.repository;
    return [
        'govern verify',
        shellWord(facts.bundle_dir),
        `--key ${facts.public_key}`,
        ...(run && run.issuer !== GITHUB_ISSUER ? [`--issuer ${shellWord(run.issuer)}`] : []),
        ...(repository ? [`--expect-repository ${shellWord(repository)}`] : []),
    ].join(' ');
}
function shellWord(word) {
    return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
/** Whether the signing key is bound to the job, in one line of HTML. */
function bindingHtml(facts) {
    const run = binding_recordedRun(facts.job_binding);
    if (run) {
        return `<span class="bound">bound to the job by the forge</span>: ${report_escapeHtml(binding_describeRun(run))}. The gateway checked the token against the issuer's keys when the session started; <code>govern verify</code> checks it again.`;
    }
    const reason = facts.job_binding?.kind === 'absent' ? facts.job_binding.reason : 'this bundle carries no binding';
    return `<span class="unbound">absent</span>: ${report_escapeHtml(reason)}. The signing key vouches only for itself.`;
}
function header(facts, view) {
    const counts = countVerdicts(view);
    const verdict = runVerdict(counts);
    const duration = Date.parse(facts.ended_at) - Date.parse(facts.started_at);
    const command = view.command;
    const exit = command ? (command.error ? `could not start (${command.error})` : command.signal ? `ended by ${command.signal}` : command.status !== undefined ? `exit status ${command.status}` : 'still running at the end') : '';
    const fact = (name, value, id) => `<dt>${name}</dt><dd id="${id}">${value}</dd>`;
    const code = (v) => `<code>${report_escapeHtml(v)}</code>`;
    const tally = session_view_VERDICTS.filter((v) => counts.byVerdict[v]).map((v) => `<span class="pill v-${v.replace(' ', '-')}">${report_escapeHtml(v)} ${counts.byVerdict[v].toLocaleString('en-US')}</span>`);
    return [
        `<header><h1>govern session <span id="run-verdict" class="run run-${verdict}">${verdict}</span> <span id="mode" class="mode">${report_escapeHtml(facts.policy.mode)}</span></h1>`,
        `<p id="tally">${counts.operations.toLocaleString('en-US')} operations: ${tally.join(' ') || 'none'}; ${counts.masked.toLocaleString('en-US')} values masked.</p>`,
        '<dl class="facts">',
        fact('identity', report_escapeHtml(report_describeIdentity(facts.identity)), 'identity'),
        fact('session', code(facts.session_id), 'session-id'),
        fact('start', report_escapeHtml(facts.started_at), 'started'),
        fact('end', `${report_escapeHtml(facts.ended_at)} (${report_escapeHtml(facts.end_reason)})`, 'ended'),
        fact('duration', report_escapeHtml(report_formatDuration(duration)), 'duration'),
        ...(command ? [fact('command', `${code(command.text)} ${report_escapeHtml(exit)}`, 'command')] : []),
        fact('policy', `${code(facts.policy.file)} sha256 ${code(facts.policy.sha256)}` +
            (facts.policy_text === undefined ? ' (its text is not in this bundle)' : `<details id="policy-text"><summary>the policy in force (policy.yml in the bundle)</summary><pre>${report_escapeHtml(facts.policy_text)}</pre></details>`), 'policy'),
        fact('connections', facts.connections.map((c) => `${code(c.name)} ${report_escapeHtml(c.protocol)} ${report_escapeHtml(c.target)} as ${code(`$${c.export}`)}`).join('<br>') || 'none', 'connections'),
        fact('signature', `This page is part of the session bundle signed by ${code(facts.public_key)}; an altered page or recording fails, run in the directory the artifact was unzipped to:<br>${code(report_verifyCommand(facts))}`, 'signature'),
        fact('job binding', bindingHtml(facts), 'job-binding'),
        '</dl>',
        clientsHtml(view),
        ...(view.incidents.length ? [`<p class="incidents" id="incidents">${report_escapeHtml(session_view_describeIncidents(view))}: refusals and failures that no listed operation shows, ${session_view_countIncidents(view) > view.incidents.length ? `the first ${view.incidents.length.toLocaleString('en-US')} listed below (<code>govern replay</code> shows every one)` : 'listed below'}.</p>`] : []),
        ...(view.omitted ? [`<p id="omitted">${view.omitted.toLocaleString('en-US')} allowed operations past the first ${view.ops.length.toLocaleString('en-US')} are counted in their statement groups but not listed one by one: <code>govern replay</code> shows them.</p>`] : []),
        '</header>',
    ].join('\n');
}
/** Past this many, client connections are counted rather than listed in the page. */
const MAX_CLIENTS_SHOWN = 1000;
/** Who connected, from where and when: one row per client connection the gateway accepted. */
function clientsHtml(view) {
    const clients = view.clients;
    if (clients.length === 0)
        return '';
    const rows = clients.slice(0, MAX_CLIENTS_SHOWN).map((c) => `<tr><td>#${c.seq}</td><td>${report_escapeHtml(c.ts)}</td><td>+${report_escapeHtml(report_formatDuration(Date.parse(c.ts) - view.start_ms))}</td><td>${report_escapeHtml(c.connection)}</td><td>${report_escapeHtml(c.protocol)}</td><td>${report_escapeHtml(c.peer ?? '')}</td><td>${report_escapeHtml(c.application_name ?? '')}</td></tr>`);
    const more = clients.length > MAX_CLIENTS_SHOWN ? `<p>and ${(clients.length - MAX_CLIENTS_SHOWN).toLocaleString('en-US')} more: <code>govern replay</code> lists them.</p>` : '';
    return [
        `<details id="clients"${clients.length <= 20 ? ' open' : ''}><summary>${clients.length.toLocaleString('en-US')} client connection${clients.length === 1 ? '' : 's'}: who connected, from where</summary>`,
        '<table class="clients"><thead><tr><th>event</th><th>time</th><th>since start</th><th>connection</th><th>protocol</th><th>peer</th><th>application_name</th></tr></thead><tbody>',
        ...rows,
        `</tbody></table>${more}</details>`,
    ].join('\n');
}
/** CSP hashes of the page's inline style and script elements: nothing else may run or style the page. */
function inlineHashes(html) {
    const digest = (text) => `'sha256-${(0,external_node_crypto_.createHash)('sha256').update(text).digest('base64')}'`;
    const found = (pattern) => html.flatMap((h) => [...h.matchAll(pattern)].map((m) => digest(m[1])));
    return { styles: found(/<style>([\s\S]*?)<\/style>/g), scripts: found(/<script>([\s\S]*?)<\/script>/g) };
}
/** The whole page as a string; `appendix` is markup of the gateway's own (terminal players) placed at its end. */
function reportPage(facts, view, appendix = '') {
    const data = reportData(view);
    const style = `<style>${VIEWER_STYLE}</style>`;
    const script = `<script>${VIEWER_SCRIPT}</script>`;
    const { styles, scripts } = inlineHashes([style, script, appendix]);
    return [
        '<!doctype html>',
        '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">',
        // No network and nothing inline but this page's own style and script, named by their hashes.
        `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${styles.join(' ')}; script-src ${scripts.join(' ')}; img-src data:">`,
        `<title>govern session ${report_escapeHtml(facts.session_id)}</title>${style}</head><body>`,
        header(facts, view),
        '<main id="viewer"><p class="nojs">The operations are listed by the script of this page; <code>govern replay</code> shows them as text.</p></main>',
        `<script type="application/json" id="govern-data">${scriptSafeJson(data.summary)}</script>`,
        `<script type="application/json" id="govern-exceptions">${scriptSafeJson(data.exceptions)}</script>`,
        `<script type="application/json" id="govern-allowed">${scriptSafeJson(data.allowed)}</script>`,
        script,
        appendix,
        '</body></html>',
        '',
    ].join('\n');
}
async function writeReport(path, facts, view, appendix = '') {
    await (0,promises_.writeFile)(path, reportPage(facts, view, appendix));
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/cast-player.ts


/** Every terminal recording in a bundle (ssh/<seq>.cast), in the order of their operations. */
function recordedCasts(dir) {
    const folder = (0,external_node_path_.join)(dir, 'ssh');
    if (!(0,external_node_fs_.existsSync)(folder))
        return [];
    return (0,external_node_fs_.readdirSync)(folder)
        .map((name) => /^(\d+)\.cast$/.exec(name))
        .filter((m) => m !== null)
        .map((m) => ({ seq: Number(m[1]), file: (0,external_node_path_.join)(folder, m[0]) }))
        .sort((a, b) => a.seq - b.seq);
}
/** Terminal recordings of a bundle: ssh/<seq>.cast, seq being the shell's operation event. */
function terminalCasts(dir, events, connection) {
    return events
        .filter((e) => e.type === 'operation' && e.protocol === 'ssh' && (!connection || e.connection === connection))
        .map((e) => ({ seq: e.seq, file: (0,external_node_path_.join)(dir, 'ssh', `${e.seq}.cast`) }))
        .filter((c) => (0,external_node_fs_.existsSync)(c.file));
}
/**
 * Plays an asciicast v2 file's output at its recorded pace, `speed` times faster. Lines that are not
 * events (a truncated last line) are skipped rather than stopping the playback.
 */
async function playCast(file, write, speed = 1) {
    const lines = (0,external_node_fs_.readFileSync)(file, 'utf8').split('\n').slice(1).filter(Boolean);
    const started = performance.now();
    for (const line of lines) {
        let event;
        try {
            event = JSON.parse(line);
        }
        catch {
            continue;
        }
        if (!Array.isArray(event) || typeof event[0] !== 'number' || event[1] !== 'o' || typeof event[2] !== 'string')
            continue;
        const due = (event[0] * 1000) / speed - (performance.now() - started);
        if (due > 0)
            await new Promise((r) => setTimeout(r, due));
        write(event[2]);
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/cast-html.ts


/**
 * Terminal recordings for report.html: one section per cast, played in the page by a small inline
 * script (no network, so the bundle's page works offline). The player draws text in a <pre>: cursor
 * movement and colours are dropped, carriage returns (overwriting) and backspaces are honoured, which is enough for
 * shells and command output; full-screen programs come out as their text.
 */
function terminalSectionsHtml(casts) {
    if (casts.length === 0)
        return '';
    const sections = casts.map(({ seq, file }) => {
        // The cast is JSON lines written by the gateway; embedded as JSON text, never as markup.
        const data = JSON.stringify((0,external_node_fs_.readFileSync)(file, 'utf8')).replace(/</g, '\\u003c');
        return `<section class="terminal"><h3>Terminal of operation #${report_escapeHtml(seq)}</h3><button type="button">Play</button> <select><option value="1">1×</option><option value="4">4×</option><option value="16">16×</option></select><pre></pre><script type="application/json">${data}</script></section>`;
    });
    return `<h2>Terminals</h2>${sections.join('')}<style>.terminal pre{background:#111;color:#ddd;padding:8px;min-height:4em;white-space:pre-wrap}</style><script>${PLAYER}</script>`;
}
const PLAYER = `(() => {
  const strip = (s) => s.replace(/\\x1b\\[[0-9;?]*[ -\\/]*[@-~]/g, '').replace(/\\x1b\\][^\\x07\\x1b]*(\\x07|\\x1b\\\\)/g, '').replace(/\\x1b[()][0-9A-Za-z]|\\x1b[=>78]/g, '');
  const apply = (screen, text) => {
    for (const c of strip(text)) {
      if (c === '\\r') screen.col = 0;
      else if (c === '\\n') { screen.done += screen.line + '\\n'; screen.line = ''; screen.col = 0; }
      else if (c === '\\b') screen.col = Math.max(0, screen.col - 1);
      else if (c >= ' ' || c === '\\t') { screen.line = screen.line.slice(0, screen.col).padEnd(screen.col) + c + screen.line.slice(screen.col + 1); screen.col++; }
    }
  };
  for (const section of document.querySelectorAll('section.terminal')) {
    const lines = JSON.parse(section.querySelector('script').textContent).split('\\n').filter(Boolean);
    const events = lines.slice(1).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter((e) => Array.isArray(e) && e[1] === 'o');
    const pre = section.querySelector('pre');
    const speed = section.querySelector('select');
    let timer;
    section.querySelector('button').addEventListener('click', () => {
      clearTimeout(timer);
      const screen = { done: '', line: '', col: 0 };
      const started = performance.now();
      let next = 0;
      const step = () => {
        const now = (performance.now() - started) / 1000 * Number(speed.value);
        while (next < events.length && events[next][0] <= now) apply(screen, events[next++][2]);
        pre.textContent = screen.done + screen.line;
        if (next < events.length) timer = setTimeout(step, Math.max(10, (events[next][0] - now) * 1000 / Number(speed.value)));
      };
      step();
    });
    const whole = { done: '', line: '', col: 0 };
    for (const e of events) apply(whole, e[2]);
    pre.textContent = whole.done + whole.line;
  }
})();`;

;// CONCATENATED MODULE: ./runner-proxy/src/gateway/gateway.ts















const UNBOUND = { kind: 'absent', reason: 'the gateway was started without a forge to ask' };
/** Why a connection cannot start: `policy check` says the same, from the same registry. */
function cannotServe(connection, adapters) {
    return `connection "${connection.name}" uses ${connection.protocol}, which this build of govern cannot serve (it serves ${[...adapters.keys()].join(', ')})`;
}
/** The forward proxy's name in the manifest and status: no connection can be called this. */
const PROXY_NAME = '(proxy)';
/** The bundle's self-contained viewer. */
const REPORT_FILE = 'report.html';
/**
 * One run of the gateway: the recording, the governor, and a loopback listener per connection.
 * `start` returns once every listener is ready; `stop` drains, then finalizes and signs the bundle.
 */
class Gateway {
    sessionId = (0,external_node_crypto_.randomUUID)();
    governor;
    signer = new SessionSigner();
    #options;
    #connections = [];
    #startedAt;
    #jobBinding = UNBOUND;
    #stopping;
    #view;
    #markStopped;
    #failStopped;
    /** Settles once the bundle is finalized (or finalizing failed), whoever asked for the stop. */
    stopped = new Promise((resolve, reject) => {
        this.#markStopped = resolve;
        this.#failStopped = reject;
    });
    constructor(options, recorder) {
        // Whoever waits on `stopped` sees a failed stop; nobody waiting is no unhandled rejection.
        this.stopped.catch(() => undefined);
        this.#options = options;
        this.#startedAt = new Date((options.now ?? Date.now)()).toISOString();
        this.governor = new Governor({
            policy: options.policy,
            principal: options.principal,
            recorder,
            masker: new masker/* Masker */.GX(),
            approvals: new Approvals({
                spec: options.policy.approvals,
                recorder,
                warn: (m) => options.log.warn(m),
                ...(options.approvalProvider && { provider: options.approvalProvider }),
                ...(options.now && { now: options.now }),
            }),
        });
    }
    static async start(options) {
        const recorder = await Recorder.create(options.outDir, options.now ? { now: options.now } : {});
        const gateway = new Gateway(options, recorder);
        const { policy, principal } = options;
        writePolicyCopy(options.outDir, policy.source);
        if (options.bindKey)
            gateway.#jobBinding = await options.bindKey(gateway.signer.publicKey);
        recorder.append('session.start', {
            session_id: gateway.sessionId,
            identity: principalRecord(principal),
            policy: policyRecord(policy),
            public_key: gateway.signer.publicKey,
            job_binding: gateway.#jobBinding,
            pid: process.pid,
        });
        await recorder.durable();
        try {
            for (const connection of policy.connections) {
                const load = options.adapters.get(connection.protocol);
                if (!load)
                    throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.AdapterUnavailable, cannotServe(connection, options.adapters));
                const listener = await (await load()).listen({ connection, governor: gateway.governor, log: options.log });
                gateway.#connections.push({ name: connection.name, protocol: connection.protocol, export: connection.export, target: listener.target, listener });
                recorder.append('listener.ready', { connection: connection.name, protocol: connection.protocol, target: listener.target, exports: Object.keys(listener.exports) });
            }
            if (policy.proxy)
                await gateway.#startProxy(policy.proxy);
        }
        catch (e) {
            // The bundle still tells what happened: it ends, signed, with the reason the gateway did not start.
            await gateway.stop(`failed to start: ${e.message}`).catch(() => undefined);
            throw e;
        }
        return gateway;
    }
    /** The session as the report shows it, once the gateway has stopped. */
    get view() {
        return this.#view;
    }
    /** The forward proxy: a listener of its own, served by the HTTP adapter. */
    async #startProxy(proxy) {
        const adapter = await this.#options.adapters.get('http')?.();
        if (!adapter?.listenProxy)
            throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.AdapterUnavailable, 'the policy has a proxy section, which this build of govern cannot serve');
        const listener = await adapter.listenProxy({ proxy, governor: this.governor, log: this.#options.log, label: this.sessionId.slice(0, 8) });
        this.#connections.push({ name: PROXY_NAME, protocol: 'http', export: 'HTTPS_PROXY', target: listener.target, listener });
        this.governor.recorder.append('listener.ready', { connection: PROXY_NAME, protocol: 'http', target: listener.target, exports: Object.keys(listener.exports) });
    }
    get outDir() {
        return this.#options.outDir;
    }
    /** The variables the job gets: one loopback address per connection. */
    exports() {
        return Object.assign({}, ...this.#connections.map((c) => c.listener.exports));
    }
    /** The job-scoped secrets inside the exports, for `::add-mask::` and the like. */
    secrets() {
        return this.#connections.flatMap((c) => c.listener.secrets);
    }
    status() {
        return {
            session_id: this.sessionId,
            pid: process.pid,
            out_dir: this.#options.outDir,
            public_key: this.signer.publicKey,
            identity: this.#options.principal,
            mode: this.#options.policy.mode,
            connections: this.#connections.map(({ name, protocol, export: exp, target }) => ({ name, protocol, export: exp, target })),
            counts: { ...this.governor.counts },
            pending: this.governor.approvals.pending(),
            approval_timeout_ms: this.#options.policy.approvals.timeoutMs,
        };
    }
    /**
     * Drains, denies what still waits for approval, and writes the signed manifest. Idempotent. `stopped`
     * settles either way, so a gateway that cannot finalize (its disk is gone) still ends.
     */
    stop(reason) {
        this.#stopping ??= this.#finalize(reason).then((manifest) => {
            this.#markStopped(manifest);
            return manifest;
        }, (e) => {
            this.#failStopped(e);
            throw e;
        });
        return this.#stopping;
    }
    /**
     * The last resort of the gateway's process: an error that escaped every connection's guard is
     * logged and recorded, and the gateway keeps serving the other connections. Returns the undo.
     */
    guardProcess() {
        const onFault = (e) => {
            this.#options.log.warn(`unexpected error, the gateway serves on: ${e?.message ?? String(e)}`);
            this.governor.fault('process', e);
        };
        process.on('uncaughtException', onFault);
        process.on('unhandledRejection', onFault);
        return () => {
            process.off('uncaughtException', onFault);
            process.off('unhandledRejection', onFault);
        };
    }
    async #finalize(reason) {
        const { policy, principal, outDir } = this.#options;
        this.governor.approvals.denyAll('the gateway stopped');
        const drainMs = this.#options.drainMs ?? 10_000;
        await Promise.all(this.#connections.map((c) => c.listener.close(drainMs)));
        await this.governor.approvals.outcomesShown(drainMs);
        const recorder = this.governor.recorder;
        this.governor.settle();
        const counts = { ...this.governor.counts };
        if (!recorder.failure)
            recorder.append('session.end', { reason, counts });
        await recorder.close().catch(() => undefined);
        recorder.releaseReserve();
        const eventsPath = (0,external_node_path_.join)(outDir, EVENTS_FILE);
        let events = { count: recorder.head.count, head: recorder.head.hash };
        if (recorder.failure) {
            events = writtenEvents((0,external_node_fs_.readFileSync)(eventsPath), recorder.head.count, recorder.failure.message);
            this.#options.log.warn(`${EVENTS_FILE}: ${events.failure}`);
        }
        const body = {
            session_id: this.sessionId,
            started_at: this.#startedAt,
            ended_at: new Date((this.#options.now ?? Date.now)()).toISOString(),
            end_reason: reason,
            identity: principalRecord(principal),
            policy: policyRecord(policy),
            connections: this.#connections.map(({ name, protocol, export: exp, target }) => ({ name, protocol, export: exp, target })),
            counts,
            events,
            job_binding: this.#jobBinding,
        };
        // The report is written before the manifest, so the signature covers it too; events.jsonl is read
        // one line at a time, however long the session (a line cut off by a full disk is left out).
        const view = (this.#view = await SessionViewBuilder.read(eventsPath));
        try {
            // Terminal recordings play inside the page (their own module, so the page's layout can change freely).
            const terminals = terminalSectionsHtml(recordedCasts(outDir));
            // The artifact unzips into a directory of the bundle's name: the page's verify command names that.
            const facts = { ...body, public_key: this.signer.publicKey, bundle_dir: (0,external_node_path_.basename)(outDir), policy_text: policy.source.toString('utf8') };
            await writeReport((0,external_node_path_.join)(outDir, REPORT_FILE), facts, view, terminals);
        }
        catch (e) {
            // A full disk: the manifest matters more than the page, which `govern replay` can stand in for.
            (0,external_node_fs_.rmSync)((0,external_node_path_.join)(outDir, REPORT_FILE), { force: true });
            this.#options.log.warn(`cannot write ${REPORT_FILE}: ${e.message}`);
        }
        return writeManifest(outDir, body, this.signer);
    }
}
/** The policy as the record and the manifest name it: where it was read, its digest, and its copy in the bundle. */
function policyRecord(policy) {
    return { file: policy.file, sha256: policy.sha256, mode: policy.mode, bundled: POLICY_FILE };
}
/**
 * After a recording failure the chain is what reached the file: up to its last whole event. The
 * sentence says where the record stops and what was lost after it. No operation among the lost events
 * reached a target (an operation whose event cannot be written is refused); results and notes may be.
 */
function writtenEvents(content, appended, cause) {
    const { last, cutBytes } = recordedTail(content);
    const count = last?.seq ?? 0;
    const cut = cutBytes ? `event ${count + 1} is cut off after ${cutBytes} bytes` : '';
    const lost = appended - count - (cutBytes ? 1 : 0);
    const unwritten = lost > 0 ? `${lost} later event${lost === 1 ? ' was' : 's were'} never written` : '';
    const what = [cut, unwritten].filter(Boolean).join(' and ') || 'nothing after it was lost';
    return { count, head: last?.hash ?? GENESIS, failure: `the record stops after event ${count}: ${what} (${cause})` };
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/job-summary.ts




/**
 * The job summary: the run in one headline, then every exception (however many allowed operations
 * surround them), the statements most run, masked counts, where the bundle is and how to check it.
 * GitHub refuses a step summary over 1 MiB, so the listing is budgeted and what does not fit is grouped.
 */
/** GitHub's limit for one step's summary is 1 MiB; leave room for what other steps add. */
const SUMMARY_BUDGET = (/* unused pure expression or super */ null && (900 * 1024));
const TOP_STATEMENTS = 15;
/** Incidents listed one by one in the summary and the job log; report.html lists the first 10,000, govern replay every one. */
const MAX_INCIDENTS = 20;
const cut = (text, max) => {
    const s = text.replace(/\s+/g, ' ').trim();
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};
const n = (value) => value.toLocaleString('en-US');
/** The headline's status word, without emoji: PASS, BLOCKED or DENIED. */
function summaryHeadline(view, mode) {
    const counts = countVerdicts(view);
    const v = counts.byVerdict;
    const parts = [
        `${n(counts.operations)} operations`,
        `${n(v.allow)} allowed`,
        v.block && `${n(v.block)} blocked`,
        v.approved && `${n(v.approved)} approved`,
        v.denied + v['timed out'] + v.held && `${n(v.denied + v['timed out'] + v.held)} denied`,
        v['would block'] && `${n(v['would block'])} would be blocked`,
        v['would hold'] && `${n(v['would hold'])} would wait for approval`,
        `${n(counts.masked)} values masked`,
    ].filter(Boolean);
    return `govern ${runVerdict(counts).toUpperCase()} (${mode} mode): ${parts.join(', ')}`;
}
function exceptionRow(view, index) {
    const op = view.ops[index];
    const d = view.details[index];
    const approval = d?.approval;
    const note = approval ? `${approval.id}${approval.by ? `, by ${approval.by}` : ''}${approval.reason ? `: ${cut(approval.reason, 120)}` : ''}` : '';
    const s = (i) => (i >= 0 ? view.strings[i] : '');
    return `<tr><td>${escapeHtml(VERDICTS[op[Col.Verdict]])}</td><td>#${op[Col.Seq]}</td><td>${escapeHtml(s(op[Col.Connection]))}</td><td><code>${escapeHtml(cut(s(op[Col.Text]), 300))}</code></td><td>${escapeHtml(s(op[Col.Rule]))}</td><td>${escapeHtml(note)}</td></tr>`;
}
/** The summary as HTML, within SUMMARY_BUDGET bytes whatever the session's size. */
function jobSummaryHtml(view, facts) {
    const parts = [`<h2>${escapeHtml(summaryHeadline(view, facts.mode))}</h2>`];
    if (facts.problem)
        parts.push(`<p><strong>The session bundle does not verify:</strong> ${escapeHtml(facts.problem)}</p>`);
    parts.push(`<p>Identity: ${escapeHtml(describeIdentity(facts.identity))}; session <code>${escapeHtml(facts.session_id)}</code>, ${escapeHtml(facts.started_at)} for ${escapeHtml(formatDuration(Date.parse(facts.ended_at) - Date.parse(facts.started_at)))}.</p>`);
    const exceptions = exceptionIndexes(view);
    parts.push(`<h3>Exceptions (${n(exceptions.length)})</h3>`);
    if (exceptions.length === 0)
        parts.push('<p>Nothing was blocked, denied or held.</p>');
    else {
        // Exceptions come first and complete: listed one by one while they fit, then grouped by statement.
        const budget = SUMMARY_BUDGET / 2;
        const rows = [];
        let size = 0;
        let listed = 0;
        for (const index of exceptions) {
            const row = exceptionRow(view, index);
            if (size + row.length > budget)
                break;
            rows.push(row);
            size += row.length;
            listed++;
        }
        parts.push('<table><tr><th>verdict</th><th>event</th><th>connection</th><th>operation</th><th>rule</th><th>approval</th></tr>', ...rows, '</table>');
        if (listed < exceptions.length) {
            const rest = groupStatements(view, exceptions.slice(listed));
            parts.push(`<p>${n(exceptions.length - listed)} more exceptions, by statement:</p><table><tr><th>count</th><th>connection</th><th>statement</th><th>verdicts</th></tr>`);
            let restSize = 0;
            for (const g of rest) {
                const row = `<tr><td>${n(g.count)}</td><td>${escapeHtml(g.connection)}</td><td><code>${escapeHtml(cut(g.fingerprint, 200))}</code></td><td>${escapeHtml(verdictList(g.verdicts))}</td></tr>`;
                if (restSize + row.length > budget / 2) {
                    parts.push(`<tr><td colspan="4">and more: report.html lists every one</td></tr>`);
                    break;
                }
                parts.push(row);
                restSize += row.length;
            }
            parts.push('</table>');
        }
    }
    if (view.incidents.length) {
        parts.push(`<h3>${escapeHtml(describeIncidents(view))}</h3><table><tr><th>time</th><th>connection</th><th>incident</th><th>detail</th></tr>`);
        for (const x of view.incidents.slice(0, MAX_INCIDENTS)) {
            parts.push(`<tr><td>${escapeHtml(x.ts)}</td><td>${escapeHtml(x.connection ?? '')}</td><td>${escapeHtml(eventLabel(x.type))}</td><td><code>${escapeHtml(cut(x.message, 200))}</code></td></tr>`);
        }
        const more = countIncidents(view) - Math.min(view.incidents.length, MAX_INCIDENTS);
        if (more > 0)
            parts.push(`<tr><td colspan="4">and ${n(more)} more: govern replay lists every one</td></tr>`);
        parts.push('</table>');
    }
    const groups = groupStatements(view);
    if (groups.length) {
        parts.push(`<h3>Top statements (${n(groups.length)} distinct)</h3><table><tr><th>count</th><th>connection</th><th>statement</th><th>verdicts</th><th>rows</th><th>masked</th></tr>`);
        for (const g of groups.slice(0, TOP_STATEMENTS)) {
            parts.push(`<tr><td>× ${n(g.count)}</td><td>${escapeHtml(g.connection)}</td><td><code>${escapeHtml(cut(g.fingerprint, 200))}</code></td><td>${escapeHtml(verdictList(g.verdicts))}</td><td>${n(g.rows)}</td><td>${n(g.masked)}</td></tr>`);
        }
        parts.push('</table>');
    }
    const masked = maskedByKind(view);
    if (masked.size) {
        parts.push('<h3>Masked values</h3><table><tr><th>type or column</th><th>values</th></tr>');
        for (const [kind, count] of [...masked].sort((a, b) => b[1] - a[1]).slice(0, 30))
            parts.push(`<tr><td>${escapeHtml(kind)}</td><td>${n(count)}</td></tr>`);
        parts.push('</table>');
    }
    parts.push('<h3>Session bundle</h3>');
    const artifact = facts.artifact;
    if (artifact) {
        parts.push(`<p>Artifact ${artifact.url ? `<a href="${escapeHtml(artifact.url)}">${escapeHtml(artifact.name)}</a>` : `<code>${escapeHtml(artifact.name)}</code>`}: open <code>report.html</code> in it for every operation, with filters and search.</p>`);
    }
    else
        parts.push(`<p>The bundle is in <code>${escapeHtml(facts.bundle_dir)}</code>: open <code>report.html</code> in it for every operation.</p>`);
    // The artifact unzips into a directory of its name; without one, the bundle is where the gateway wrote it.
    const verify = verifyCommand({ ...facts, ...(artifact && { bundle_dir: artifact.name }) });
    parts.push(`<p>Signed by <code>${escapeHtml(facts.public_key)}</code>. Check it${artifact ? ' once downloaded and unzipped' : ''} with <code>${escapeHtml(verify)}</code>.</p>`);
    const run = recordedRun(facts.job_binding);
    parts.push(run
        ? `<p>The signing key is bound to this job by the forge: ${escapeHtml(describeRun(run))}.</p>`
        : `<p>The signing key is not bound to the job${facts.job_binding?.kind === 'absent' ? ` (${escapeHtml(facts.job_binding.reason)})` : ''}: it vouches only for itself.</p>`);
    return `${parts.join('\n')}\n`;
}
function verdictList(verdicts) {
    return Object.entries(verdicts)
        .map(([v, count]) => `${v} ${n(count)}`)
        .join(', ');
}
function exceptionIndexes(view) {
    const out = [];
    view.ops.forEach((op, i) => EXCEPTIONS.has(session_view_VERDICTS[op[session_view_Col.Verdict]]) && out.push(i));
    return out;
}
/** Masked values by detector type and column, where results recorded the breakdown. */
function maskedByKind(view) {
    const out = new Map();
    for (const detail of Object.values(view.details)) {
        for (const [kind, count] of Object.entries(detail.masked_by ?? {}))
            out.set(kind, (out.get(kind) ?? 0) + count);
    }
    return out;
}
/** The exceptions as plain text lines for a job log (GitLab shows no step summary). */
function exceptionLines(view, max = 200) {
    const exceptions = exceptionIndexes(view);
    const lines = exceptions.slice(0, max).map((index) => {
        const op = view.ops[index];
        const rule = op[session_view_Col.Rule] >= 0 ? ` (rule ${view.strings[op[session_view_Col.Rule]]})` : '';
        return `  ${session_view_VERDICTS[op[session_view_Col.Verdict]].toUpperCase().padEnd(11)} #${op[session_view_Col.Seq]} ${view.strings[op[session_view_Col.Connection]]}: ${cut(view.strings[op[session_view_Col.Text]], 160)}${rule}`;
    });
    if (exceptions.length > max)
        lines.push(`  … and ${exceptions.length - max} more: report.html lists every one`);
    return lines;
}
/** The incidents as plain text lines for a job log: the first MAX_INCIDENTS, by catalogue label. */
function incidentLines(view) {
    const lines = view.incidents.slice(0, MAX_INCIDENTS).map((x) => `  ${x.ts} ${x.connection ?? '-'}: ${events_eventLabel(x.type)}${x.message ? `: ${cut(x.message, 160)}` : ''}`);
    const more = session_view_countIncidents(view) - lines.length;
    if (more > 0)
        lines.push(`  … and ${more} more: govern replay lists every one`);
    return lines;
}

;// CONCATENATED MODULE: ./runner-proxy/src/gateway/summary.ts




/**
 * The end-of-run summary for the job log (GitLab shows no step summary, so this is where its auditors
 * look): the headline, counts, every exception, where the bundle and its report are, and how to verify.
 */
function formatSummary(manifest, outDir, view) {
    const c = manifest.counts;
    const observed = c.would_block || c.would_hold ? `, ${c.would_block} would block, ${c.would_hold} would hold` : '';
    const exceptions = view ? exceptionLines(view) : [];
    const lines = [
        view ? summaryHeadline(view, manifest.policy.mode) : 'govern session',
        `  identity     ${report_describeIdentity(manifest.identity)}`,
        `  policy       ${manifest.policy.file} (${manifest.policy.mode}, sha256 ${manifest.policy.sha256.slice(0, 12)})`,
        ...manifest.connections.map((conn) => `  connection   ${conn.name}: ${conn.protocol} ${conn.target} as $${conn.export}`),
        `  operations   ${c.operations}: ${c.allowed} allowed, ${c.blocked} blocked, ${c.approved} approved, ${c.denied} denied${observed}`,
        `  masked       ${c.masked_values} values`,
        ...(exceptions.length ? ['  exceptions', ...exceptions.map((line) => `  ${line}`)] : []),
        ...(view?.incidents.length ? [`  incidents    ${session_view_describeIncidents(view)}`, ...incidentLines(view).map((line) => `  ${line}`)] : []),
        `  bundle       ${outDir} (${manifest.events.count} events, head ${manifest.events.head.slice(0, 12)})`,
        `  report       ${outDir}/report.html`,
        `  signed by    ${manifest.public_key}`,
        `  job binding  ${jobBinding(manifest)}`,
        `  verify with  ${report_verifyCommand({ bundle_dir: outDir, public_key: manifest.public_key, ...(manifest.job_binding && { job_binding: manifest.job_binding }) })}`,
        ...(manifest.events.failure ? [`  recording    FAILED: ${manifest.events.failure}`] : []),
    ];
    return `${lines.join('\n')}\n`;
}
function jobBinding(manifest) {
    const run = binding_recordedRun(manifest.job_binding);
    if (run)
        return `bound by the forge: ${binding_describeRun(run)}`;
    return `absent (${manifest.job_binding?.kind === 'absent' ? manifest.job_binding.reason : 'none recorded'}): the key vouches only for itself`;
}

// EXTERNAL MODULE: ./node_modules/ajv/dist/ajv.js
var ajv = __webpack_require__(42463);
// EXTERNAL MODULE: ./node_modules/yaml/dist/index.js
var dist = __webpack_require__(38815);
// EXTERNAL MODULE: ./runner-proxy/src/base/duration.ts
var duration = __webpack_require__(88155);
// EXTERNAL MODULE: ./runner-proxy/src/base/json-select.ts
var json_select = __webpack_require__(39222);
;// CONCATENATED MODULE: ./runner-proxy/src/policy/schema.ts
/**
 * The policy's JSON Schema, built from the protocols a build serves: each connection takes one
 * protocol's settings, each rule condition the keys the protocols declare. `npm run schema` writes it
 * to policy.schema.json for editors, and a unit test fails when that file is stale.
 */
function policySchema(protocols) {
    const schema = structuredClone(BASE);
    for (const d of protocols.declarations)
        schema.definitions.connection.properties[d.name] = d.settings;
    const json = schema.definitions.condition.properties.json;
    schema.definitions.condition.properties = {};
    for (const [key, { condition, protocols: declaring, classes }] of protocols.conditions) {
        schema.definitions.condition.properties[key] = condition.schema({ classes, protocols: [...declaring] });
    }
    schema.definitions.condition.properties.json = json;
    return schema;
}
/** The schema as policy.schema.json holds it. */
function policySchemaText(protocols) {
    return `${JSON.stringify(policySchema(protocols), null, 2)}\n`;
}
/** Everything but the protocols' own words. */
const BASE = {
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

;// CONCATENATED MODULE: ./runner-proxy/src/policy/load.ts










const ACTIONS = ['mask', 'block', 'approve', 'allow'];
const VARIABLE = /\$\{([^}]*)\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DEFAULT_TIMEOUT = '15m';
const DEFAULT_MAX_PENDING = 20;
/** One validator per registry for the life of the process; Ajv compiles the schema to code. */
const validators = new WeakMap();
function validate(data, protocols) {
    let validator = validators.get(protocols);
    if (!validator)
        validators.set(protocols, (validator = new ajv.Ajv({ allErrors: true, verbose: true, strict: false }).compile(policySchema(protocols))));
    return validator(data) ? [] : [...(validator.errors ?? [])];
}
const DEFAULT_POLICIES = ['.github/govern.yml', '.govern.yml'];
/** The policy file to use: the one given, else .github/govern.yml, else .govern.yml. */
function findPolicy(explicit) {
    if (explicit)
        return explicit;
    const found = DEFAULT_POLICIES.find((p) => (0,external_node_fs_.existsSync)(p));
    if (!found)
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.PolicyNotFound, `no policy file: pass --policy FILE or create ${DEFAULT_POLICIES.join(' or ')}`);
    return found;
}
/** Reads, validates and resolves a policy file; throws PolicyError listing every problem found. */
function loadPolicy(file, options) {
    let bytes;
    try {
        bytes = (0,external_node_fs_.readFileSync)(file);
    }
    catch (cause) {
        const missing = cause.code === 'ENOENT';
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.PolicyNotFound, missing ? `the policy file ${file} does not exist; check its path` : `cannot read the policy file ${file}: ${cause.message}`, { cause });
    }
    return parsePolicy(file, bytes, options);
}
function parsePolicy(file, bytes, options) {
    const lineCounter = new dist/* LineCounter */.HN();
    const doc = (0,dist/* parseDocument */.Tp)(bytes.toString('utf8'), { lineCounter, prettyErrors: true, uniqueKeys: true });
    const problems = [];
    const at = (offset, message) => {
        const { line, col } = lineCounter.linePos(offset);
        problems.push({ file, line, col, message });
    };
    for (const e of doc.errors)
        at(e.pos[0], e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''));
    if (problems.length)
        throw new errors/* PolicyError */.pn(problems);
    const warnings = [];
    const located = new Located(doc, at, (offset, message) => warnings.push({ file, ...lineCounter.linePos(offset), message }));
    const data = doc.toJS();
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
        at(0, 'the policy must be a mapping with at least "version: 1"');
        throw new errors/* PolicyError */.pn(problems);
    }
    for (const error of collapse(validate(data, options.protocols)))
        located.report(error);
    if (problems.length)
        throw new errors/* PolicyError */.pn(problems);
    const raw = data;
    const variables = new Set();
    const policy = {
        file,
        sha256: (0,external_node_crypto_.createHash)('sha256').update(bytes).digest('hex'),
        source: bytes,
        identity: raw.identity && {
            audience: raw.identity.audience,
            trust: raw.identity.trust.map((t, i) => checkTrust(t, ['identity', 'trust', i], located)),
        },
        connections: Object.entries(raw.connections ?? {}).map(([name, c]) => checkConnection(name, c, located, options, variables)),
        rules: (raw.rules ?? []).map((r, i) => checkRule(r, ['rules', i], located, options.protocols)),
        approvals: approvalsOf(raw.approvals, located),
        recording: { results: raw.recording?.results ?? 'summary' },
        mode: raw.mode ?? 'enforce',
        ...(raw.proxy && { proxy: checkProxy(raw.proxy, located) }),
        warnings,
        variables: [...variables],
        protocols: options.protocols,
    };
    crossCheck(policy, raw, located);
    checkClasses(policy, located);
    findStrayVariables(doc, located);
    if (problems.length)
        throw new errors/* PolicyError */.pn(problems);
    return policy;
}
// ---- locating problems in the YAML ----
class Located {
    doc;
    at;
    warnAt;
    constructor(doc, at, warnAt) {
        this.doc = doc;
        this.at = at;
        this.warnAt = warnAt;
    }
    warning(path, message) {
        const node = this.node(path);
        this.warnAt(node?.range?.[0] ?? 0, message);
    }
    node(path) {
        return (path.length ? this.doc.getIn(path, true) : this.doc.contents);
    }
    /** Reports at the node's position, or its nearest ancestor that exists. */
    problem(path, message) {
        for (let p = path;; p = p.slice(0, -1)) {
            const node = this.node(p);
            if (node?.range)
                return this.at(node.range[0], message);
            if (p.length === 0)
                return this.at(0, message);
        }
    }
    /** Reports at a mapping's key, so "unknown key" points at the key itself. */
    keyProblem(path, key, message) {
        const map = this.node(path);
        if ((0,dist/* isMap */.jh)(map)) {
            for (const pair of map.items) {
                if ((0,dist/* isPair */.tO)(pair) && (0,dist/* isScalar */.jn)(pair.key) && pair.key.value === key && pair.key.range) {
                    return this.at(pair.key.range[0], message);
                }
            }
        }
        this.problem(path, message);
    }
    report(error) {
        const path = pointerToPath(error.instancePath);
        const where = describePath(path);
        const p = error.params;
        switch (error.keyword) {
            case 'additionalProperties': {
                const key = String(p.additionalProperty);
                const known = Object.keys(error.parentSchema?.properties ?? {});
                const hint = closest(key, known);
                return this.keyProblem(path, key, `unknown key "${key}"${where ? ` in ${where}` : ''}${hint ? `; did you mean "${hint}"?` : `; expected one of ${known.join(', ')}`}`);
            }
            case 'required':
                return this.problem(path, `${where || 'the policy'} is missing "${String(p.missingProperty)}"`);
            case 'enum': {
                const allowed = p.allowedValues.map(String);
                const hint = closest(String(error.data), allowed);
                return this.problem(path, `${where} is "${String(error.data)}", which is not one of ${allowed.join(', ')}${hint ? `; did you mean "${hint}"?` : ''}`);
            }
            case 'minProperties':
                return this.problem(path, `${where} is empty; give it at least one key`);
            case 'const':
                return this.problem(path, `${where} must be ${JSON.stringify(p.allowedValue)}`);
            case 'type':
                return this.problem(path, `${where || 'the policy'} must be ${article(String(p.type))}`);
            case 'oneOf':
                return this.problem(path, `${where} must be ${describeAlternatives(error.schema)}`);
            case 'pattern':
                return this.problem(path, `${where} "${String(error.data)}" ${describePattern(String(p.pattern))}`);
            case 'propertyNames':
                return this.problem(path, `${where} has a name that is not a plain identifier (letters, digits, _ and -)`);
            default:
                return this.problem(path, `${where} ${error.message ?? 'is not valid'}`);
        }
    }
}
/** oneOf reports every branch's failures too; keep only the oneOf itself, which names the alternatives. */
function collapse(errors) {
    const oneOfs = errors.filter((e) => e.keyword === 'oneOf');
    const inside = (e) => oneOfs.some((o) => e !== o && e.schemaPath.startsWith(o.schemaPath.replace(/\/oneOf$/, '/oneOf/')) && e.instancePath.startsWith(o.instancePath));
    // propertyNames also reports the name's own pattern failure, without a useful path; keep the outer one.
    const aboutName = (e) => e.keyword !== 'propertyNames' && e.params.propertyName !== undefined;
    return errors.filter((e) => !inside(e) && !aboutName(e));
}
function pointerToPath(pointer) {
    if (!pointer)
        return [];
    return pointer
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
function describePath(path) {
    let out = '';
    for (const k of path)
        out += typeof k === 'number' ? `[${k}]` : out ? `.${k}` : k;
    return out;
}
function article(type) {
    const names = { object: 'a mapping', array: 'a list', string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false' };
    return type.split(',').map((t) => names[t] ?? t).join(' or ');
}
function describeAlternatives(branches) {
    return branches.map((b) => article(Array.isArray(b.type) ? b.type.join(',') : String(b.type ?? 'value'))).join(', or ');
}
function describePattern(pattern) {
    if (pattern === '^[A-Z_][A-Z0-9_]*$')
        return 'must be an environment variable name (A-Z, 0-9 and _)';
    if (pattern.startsWith('^[0-9]+(ms|s|m|h)'))
        return 'must be a duration such as 90s, 15m or 2h';
    if (pattern === '^\\$')
        return 'must be a JSON selector starting with $';
    if (pattern.startsWith('^[A-Za-z0-9]'))
        return 'must use only letters, digits, _, . and -';
    return `must match ${pattern}`;
}
/** The known word a misspelling most likely meant, if one is close. */
function closest(word, candidates) {
    let best;
    let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
    for (const c of candidates) {
        const d = editDistance(word.toLowerCase(), c.toLowerCase());
        if (d < bestDistance)
            [best, bestDistance] = [c, d];
    }
    return best;
}
function editDistance(a, b) {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const row = [i];
        for (let j = 1; j <= b.length; j++) {
            row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        prev = row;
    }
    return prev[b.length];
}
function checkProxy(raw, located) {
    for (const key of ['intercept', 'tunnel'])
        raw[key]?.forEach((host, i) => checkGlob(host, '.', ['proxy', key, i], located));
    return { intercept: raw.intercept ?? [], tunnel: raw.tunnel ?? [], others: raw.others ?? 'tunnel' };
}
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const list = (v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
function checkGlob(pattern, separator, path, located) {
    try {
        (0,glob/* compileGlob */.SO)(pattern, { separator });
    }
    catch (e) {
        if (!(e instanceof glob/* GlobSyntaxError */.go))
            throw e;
        located.problem(path, `${describePath(path)}: bad glob ${e.message}`);
    }
}
function checkTrust(raw, path, located) {
    const issuer = raw.issuer;
    if (issuer !== 'github' && issuer !== 'gitlab') {
        let url;
        try {
            url = new URL(issuer);
        }
        catch {
            located.problem([...path, 'issuer'], `${describePath([...path, 'issuer'])} must be github, gitlab or an https URL, not "${issuer}"`);
        }
        if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
            located.problem([...path, 'issuer'], `${describePath([...path, 'issuer'])} must use https (plain http only for a loopback issuer)`);
        }
    }
    for (const [claim, value] of Object.entries(raw.claims ?? {})) {
        (Array.isArray(value) ? value : [value]).forEach((v, i) => {
            if (typeof v === 'string')
                checkGlob(v, '/', Array.isArray(value) ? [...path, 'claims', claim, i] : [...path, 'claims', claim], located);
        });
    }
    const entry = { issuer, claims: raw.claims ?? {}, ...(raw.any_repository && { anyRepository: true }) };
    const forge = forgeOfEntry(entry);
    if (forge && !isPinned(entry, forge))
        located.problem(path, `${describePath(path)} (issuer ${issuer}) ${unpinnedReason(forge)}`);
    const weak = forge && isPinned(entry, forge) ? weakPinning(entry, forge) : undefined;
    if (weak)
        located.warning(path, `${describePath(path)} ${weak}`);
    return entry;
}
function isLoopbackHost(hostname) {
    return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
function checkConnection(name, raw, located, options, variables) {
    const path = ['connections', name];
    const protocols = options.protocols.names.filter((p) => raw[p] !== undefined);
    if (protocols.length !== 1) {
        located.problem(path, protocols.length === 0
            ? `connection "${name}" needs one of ${oneOf(options.protocols.names)}`
            : `connection "${name}" has ${protocols.join(' and ')}; a connection reaches exactly one target`);
    }
    const protocol = protocols[0] ?? options.protocols.names[0];
    const settings = resolveVariables(raw[protocol], [...path, protocol], located, options, variables);
    return { name, protocol, export: raw.export, settings };
}
/** Replaces `${VAR}` in every string of a connection's settings, collecting the names it reads. */
function resolveVariables(value, path, located, options, variables) {
    const walk = (v, p) => {
        if (typeof v === 'string') {
            return v.replace(VARIABLE, (whole, varName) => {
                if (!VARIABLE_NAME.test(varName)) {
                    located.problem(p, `${describePath(p)}: "${whole}" is not a variable reference; names use letters, digits and _`);
                    return whole;
                }
                variables.add(varName);
                if (!options.resolveVariables)
                    return whole;
                const resolved = options.env[varName];
                if (resolved === undefined || resolved === '') {
                    located.problem(p, `${describePath(p)}: variable ${varName} is not set in the gateway's environment (pass --no-env to check the file's structure only)`);
                    return whole;
                }
                return resolved;
            });
        }
        if (Array.isArray(v))
            return v.map((x, i) => walk(x, [...p, i]));
        if (v && typeof v === 'object')
            return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...p, k])]));
        return v;
    };
    return (walk(value ?? {}, path) ?? {});
}
function checkRule(raw, path, located, protocols) {
    const actions = ACTIONS.filter((a) => raw[a] !== undefined);
    if (actions.length !== 1) {
        located.problem(path, actions.length === 0
            ? `rule "${raw.name}" needs one of mask, block, approve or allow`
            : `rule "${raw.name}" has ${actions.join(' and ')}; give each action a rule of its own`);
    }
    const action = actions[0] ?? 'block';
    const when = raw.when && { connection: list(raw.when.connection), ...checkRequestPattern(raw.when, [...path, 'when'], located) };
    const rule = { name: raw.name, action, ...(when && { when }) };
    if (action === 'mask' && raw.mask) {
        const mask = {
            columns: raw.mask.columns ?? [],
            types: raw.mask.types ?? [],
            json: raw.mask.json ?? [],
            headers: (raw.mask.headers ?? []).map((h) => h.toLowerCase()),
            on: raw.mask.on ?? 'read',
            strategy: raw.mask.strategy ?? 'redact',
            ...(raw.mask.predicates !== undefined && { predicates: predicatesOf(raw.mask.predicates) }),
        };
        mask.columns.forEach((c, i) => {
            if (!c.includes('.'))
                located.problem([...path, 'mask', 'columns', i], `${describePath([...path, 'mask', 'columns', i])} "${c}" must name table.column (use *.${c} for any table)`);
            else if (/[[\]()\s"';]/.test(c)) {
                located.problem([...path, 'mask', 'columns', i], `${describePath([...path, 'mask', 'columns', i])} "${c}" is not a table.column name or glob: use names with * ? and {a,b}`);
            }
            else
                checkGlob(c, '.', [...path, 'mask', 'columns', i], located);
        });
        mask.json.forEach((s, i) => syntax(() => (0,json_select/* compileSelector */.xN)(s), [...path, 'mask', 'json', i], located));
        if (mask.columns.length + mask.types.length + mask.json.length + mask.headers.length === 0) {
            located.problem([...path, 'mask'], `rule "${raw.name}" masks nothing; list columns, types, json or headers`);
        }
        rule.mask = mask;
    }
    else if (action !== 'mask') {
        const checks = conditionChecks(located);
        rule.condition = Object.fromEntries(Object.entries(raw[action]).map(([key, value]) => {
            if (key === 'json') {
                syntax(() => (0,json_select/* compileCondition */.vs)(value), [...path, action, 'json'], located);
                return [key, value];
            }
            const check = protocols.conditions.get(key).condition.check;
            return [key, check ? check(value, [...path, action, key], checks) : value];
        }));
    }
    if (raw.others !== undefined) {
        const listed = raw.allow && Object.keys(raw.allow).filter((k) => k !== 'json');
        if (!listed || listed.length === 0 || listed.some((k) => !protocols.conditions.get(k)?.condition.allowList)) {
            const nouns = [...protocols.conditions.values()].flatMap(({ condition }) => condition.allowList?.noun ?? []);
            located.problem([...path, 'others'], `rule "${raw.name}" has others: ${raw.others}, which only an allow rule listing ${nouns.join(' or ')} (and nothing else) can have`);
        }
        else
            rule.others = raw.others;
    }
    return rule;
}
/** What a protocol's condition keys check their values with: this file's globs and request patterns. */
function conditionChecks(located) {
    return {
        glob: (pattern, separator, path) => checkGlob(pattern, separator, path, located),
        requestPattern: (raw, path) => checkRequestPattern(raw, path, located),
    };
}
/** "a, b or c". */
function oneOf(words) {
    return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}
/** An HTTP request pattern with its globs checked, methods upper case, host and header names lower case. */
function checkRequestPattern(raw, path, located) {
    const globs = (key, separator) => {
        const values = list(raw[key]);
        values?.forEach((g, i) => checkGlob(g, separator, [...path, key, ...(Array.isArray(raw[key]) ? [i] : [])], located));
        return values;
    };
    const valueGlobs = (key) => {
        const entries = raw[key] && Object.entries(raw[key]);
        entries?.forEach(([name, values]) => {
            if (key === 'headers' && !HEADER_NAME.test(name))
                located.keyProblem([...path, key], name, `${describePath([...path, key])}: "${name}" is not an HTTP header name`);
            list(values).forEach((g, i) => checkGlob(g, '/', [...path, key, name, ...(Array.isArray(values) ? [i] : [])], located));
        });
        return entries && Object.fromEntries(entries.map(([name, values]) => [key === 'headers' ? name.toLowerCase() : name, list(values)]));
    };
    const host = globs('host', '.')?.map((h) => h.toLowerCase());
    const method = list(raw.method)?.map((m) => m.toUpperCase());
    const requestPath = globs('path', '/');
    const headers = valueGlobs('headers');
    const query = valueGlobs('query');
    return { ...(host && { host }), ...(method && { method }), ...(requestPath && { path: requestPath }), ...(headers && { headers }), ...(query && { query }) };
}
function syntax(compile, path, located) {
    try {
        compile();
    }
    catch (e) {
        if (!(e instanceof json_select/* JsonSyntaxError */.q3))
            throw e;
        located.problem(path, `${describePath(path)}: ${e.message}`);
    }
}
function approvalsOf(raw, located) {
    const via = raw?.via ?? 'cli';
    const approvers = raw?.approvers ?? [];
    if (via !== 'cli' && approvers.length === 0) {
        located.problem(['approvals'], `approvals via ${via} need approvers: nobody could answer a request`);
    }
    return {
        via,
        approvers,
        timeoutMs: (0,duration/* parseDuration */.E)(raw?.timeout ?? DEFAULT_TIMEOUT),
        allowSelfApproval: raw?.allow_self_approval ?? false,
        maxPending: raw?.max_pending ?? DEFAULT_MAX_PENDING,
    };
}
function crossCheck(policy, raw, located) {
    const names = new Set(policy.connections.map((c) => c.name));
    const exports = new Map();
    for (const c of policy.connections) {
        const other = exports.get(c.export);
        if (other)
            located.problem(['connections', c.name, 'export'], `connections "${other}" and "${c.name}" both export ${c.export}`);
        exports.set(c.export, c.name);
    }
    const ruleNames = new Set();
    policy.rules.forEach((rule, i) => {
        if (ruleNames.has(rule.name))
            located.problem(['rules', i, 'name'], `rule name "${rule.name}" is used twice; names identify rules in the record`);
        ruleNames.add(rule.name);
        rule.when?.connection?.forEach((name, j) => {
            if (!names.has(name)) {
                const hint = closest(name, [...names]);
                const at = Array.isArray(raw.rules[i].when.connection) ? ['rules', i, 'when', 'connection', j] : ['rules', i, 'when', 'connection'];
                // What the forward proxy records as connection proxy:HOST is named by its host.
                const proxied = name.startsWith('proxy:') ? `; name a host the proxy intercepts with when: { host: "${name.slice(6)}" }` : undefined;
                located.problem(at, `rule "${rule.name}" names connection "${name}", which the policy does not define${proxied ?? (hint ? `; did you mean "${hint}"?` : '')}`);
            }
        });
    });
}
/**
 * The classes a rule names for the connections it narrows to must be ones their protocols know:
 * `copy_program` on a MySQL connection would never match. (A rule for every connection names classes
 * some protocol knows, which the schema checks.)
 */
function checkClasses(policy, located) {
    const protocolOf = new Map(policy.connections.map((c) => [c.name, c.protocol]));
    policy.rules.forEach((rule, i) => {
        for (const [key, value] of Object.entries(rule.condition ?? {})) {
            const entry = policy.protocols.conditions.get(key);
            if (!entry?.condition.namesClasses)
                continue;
            const connections = (rule.when?.connection ?? []).filter((name) => entry.protocols.has(protocolOf.get(name) ?? ''));
            const reached = [...new Set(connections.map((name) => protocolOf.get(name)))];
            const known = reached.flatMap((p) => policy.protocols.get(p).classes?.[key] ?? []);
            value.forEach((c, j) => {
                if (reached.length === 0 || known.includes(c))
                    return;
                const path = ['rules', i, rule.action, key, j];
                const hint = closest(c, known);
                located.problem(path, `${describePath(path)} "${c}" is not a class ${oneOf(reached)} knows (rule "${rule.name}" is for ${connections.map((n) => `"${n}"`).join(', ')})${hint ? `; did you mean "${hint}"?` : ''}`);
            });
        }
    });
}
/** `${VAR}` is resolved only in connection settings; anywhere else it would silently stay literal. */
function findStrayVariables(doc, located) {
    const visit = (node, path) => {
        if (path[0] === 'connections' && path.length >= 3 && path[2] !== 'export')
            return;
        if ((0,dist/* isScalar */.jn)(node)) {
            if (typeof node.value === 'string' && node.value.includes('${') && node.range) {
                located.at(node.range[0], `${describePath(path)}: only connection settings take \${VAR}`);
            }
        }
        else if ((0,dist/* isMap */.jh)(node)) {
            for (const pair of node.items)
                if ((0,dist/* isScalar */.jn)(pair.key))
                    visit(pair.value, [...path, String(pair.key.value)]);
        }
        else if ((0,dist/* isSeq */.oP)(node)) {
            node.items.forEach((item, i) => visit(item, [...path, i]));
        }
    };
    visit(doc.contents, []);
}
/** `predicates: refuse`, or `{ refuse: true, allow_param_equality: true }` to still allow `column = $1`. */
function predicatesOf(raw) {
    if (typeof raw === 'string')
        return { refuse: raw === 'refuse', allowParamEquality: false };
    return { refuse: raw.refuse ?? true, allowParamEquality: raw.allow_param_equality ?? false };
}

;// CONCATENATED MODULE: ./runner-proxy/src/cli/launch.ts















const DEFAULT_OUT = 'govern-session';
async function identify(policy, env, tokenEnv, log) {
    if (!policy.identity) {
        log.warn('the policy has no identity section: this run is recorded as identity "none"');
        return { principal: NO_IDENTITY };
    }
    const obtained = await obtainToken({ env, audience: policy.identity.audience, ...(tokenEnv && { tokenEnv }) });
    if (!obtained)
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.TokenMissing, NO_TOKEN_HELP);
    const principal = await new TokenVerifier(policy.identity, { ...(env.CI_SERVER_URL && { gitlabUrl: env.CI_SERVER_URL }) }).verify(obtained.token);
    log.info(`identity verified from ${obtained.source}: ${tokenText(principal.subject ?? principal.issuer)}${principal.readOnly ? ' (read-only)' : ''}`);
    return { principal, ...(obtained.variable && { tokenVariable: obtained.variable }) };
}
/**
 * Loads the policy, verifies the identity (a rejected token stops here, before any listener opens),
 * starts the gateway and its control socket, and leaves gateway.json for later commands.
 */
async function launch({ policyPath, outDir, tokenEnv, mode, env, log }) {
    const loaded = loadPolicy(findPolicy(policyPath), { env, resolveVariables: true, protocols: builtInProtocols() });
    if (mode !== undefined && mode !== 'enforce' && mode !== 'observe')
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.Usage, `mode must be enforce or observe, not "${mode}"`);
    const policy = mode ? { ...loaded, mode } : loaded;
    for (const w of policy.warnings)
        log.warn(`${w.file}:${w.line}: ${w.message}`);
    const { principal, tokenVariable } = await identify(policy, env, tokenEnv, log);
    const out = (0,external_node_path_.resolve)(outDir);
    const provider = approvalProvider(policy.approvals, principal, env, (m) => log.warn(m));
    const bindKey = async (publicKey) => {
        const binding = await bindJob(env, publicKey, principal.issuer);
        if (binding.kind === 'oidc')
            log.info(`signing key bound to the job by ${binding.issuer}`);
        // Outside GitHub an unbound key is expected; on GitHub it means the job lacks id-token: write.
        else
            (env.ACTIONS_ID_TOKEN_REQUEST_URL ? log.warn : log.info)(`the signing key is not bound to the job: ${binding.reason}`);
        return binding;
    };
    // The SQL parser's WebAssembly is compiled by Liftoff alone: TurboFan's recompilation of its hot
    // functions kept 60-70 MB of compiler memory in the process (RSS 150-160 MB after 10,000 statements,
    // 90-100 MB without) and competed with the job for a runner's cores. A parse, which the statement
    // shape cache makes rare, is about a fifth slower for it.
    (0,external_node_v8_.setFlagsFromString)('--liftoff-only');
    const gateway = await Gateway.start({ policy, principal, outDir: out, adapters: builtInAdapters(), log, bindKey, ...(provider && { approvalProvider: provider }) });
    const unguard = gateway.guardProcess();
    const approver = `cli:${(0,external_node_os_.userInfo)().username}`;
    const socket = controlSocketPath(out);
    const control = await serveControl(socket, (request) => handleControl(gateway, request, approver));
    writeRuntimeInfo(out, {
        pid: process.pid,
        control: socket,
        session_id: gateway.sessionId,
        public_key: gateway.signer.publicKey,
        started_at: new Date().toISOString(),
        env: gateway.exports(),
        secrets: gateway.secrets(),
    });
    log.info(`gateway ready; session ${gateway.sessionId}; signing key ${gateway.signer.publicKey}`);
    return { gateway, policy, control, withheld: [...policy.variables, ...(tokenVariable ? [tokenVariable] : [])], unguard };
}
async function handleControl(gateway, request, approver) {
    switch (request.cmd) {
        case 'status':
            return gateway.status();
        case 'stop': {
            const manifest = await gateway.stop('govern stop');
            return formatSummary(manifest, gateway.outDir, gateway.view);
        }
        case 'approve':
        case 'deny':
            gateway.governor.approvals.decide(request.id, request.cmd === 'approve', approver, request.reason);
            return { id: request.id, decided: request.cmd };
        default:
            throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.ControlFailed, `unknown control command ${JSON.stringify(request.cmd)}`);
    }
}
/**
 * Stops a launched gateway in this process: finalize, close the control socket, forget the runtime
 * file. The last three happen even when finalizing fails, so the process can end.
 */
async function shutdown({ gateway, control, unguard }, reason) {
    try {
        const manifest = await gateway.stop(reason);
        return formatSummary(manifest, gateway.outDir, gateway.view);
    }
    finally {
        await new Promise((done) => control.close(done));
        removeRuntimeInfo(gateway.outDir);
        unguard();
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/gateway/job-env.ts


const ENV_FORMATS = ['shell', 'dotenv', 'github'];
/**
 * The environment the job's commands get: the caller's own, without any variable the policy reads
 * (the real credentials) or the OIDC token, plus the gateway's loopback exports.
 */
function jobEnvironment(parent, withheld, exports) {
    const env = {};
    for (const [k, v] of Object.entries(parent))
        if (v !== undefined)
            env[k] = v;
    for (const name of withheld)
        delete env[name];
    return Object.assign(env, withJobNoProxy(exports, parent));
}
/**
 * The exports with the forward proxy's NO_PROXY (loopback, where the gateway's listeners are) joined
 * with what the job already has under either spelling, so hosts the job reached directly stay direct.
 * A `*`, which would take every host out of the proxy, is not kept.
 */
function withJobNoProxy(exports, parent) {
    if (exports.NO_PROXY === undefined)
        return { ...exports };
    const entries = new Set();
    for (const list of [exports.NO_PROXY, parent.NO_PROXY, parent.no_proxy]) {
        for (const entry of (list ?? '').split(','))
            if (entry.trim() && entry.trim() !== '*')
                entries.add(entry.trim());
    }
    const merged = [...entries].join(',');
    return { ...exports, NO_PROXY: merged, no_proxy: merged };
}
/**
 * Prints exports for `eval`, for a dotenv file (GitLab artifacts:reports:dotenv), or for $GITHUB_ENV.
 * For a shell, the variables the gateway read are unset too: a job shell that held the real
 * credentials to start the gateway (GitLab CI/CD variables) no longer has them afterwards.
 */
function formatEnv(vars, format, withheld = []) {
    const entries = Object.entries(vars);
    switch (format) {
        case 'shell':
            return (entries.map(([k, v]) => `export ${k}='${v.replaceAll("'", `'\\''`)}'\n`).join('') +
                withheld.filter((name) => !(name in vars)).map((name) => `unset ${name}\n`).join(''));
        case 'dotenv':
            return entries
                .map(([k, v]) => {
                if (/[\r\n]/.test(v))
                    throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.Usage, `${k} spans several lines, which a dotenv file cannot hold; use --env-format shell`);
                return `${k}=${v}\n`;
            })
                .join('');
        case 'github':
            // The runner's multi-line syntax, with a delimiter no value can contain (as @actions/core does).
            return entries
                .map(([k, v]) => {
                const delimiter = `ghadelimiter_${(0,external_node_crypto_.randomUUID)()}`;
                return `${k}<<${delimiter}\n${v}\n${delimiter}\n`;
            })
                .join('');
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/cli/context.ts

function usage(message) {
    return new errors/* GovernError */.MF(errors/* ErrorCode */.O4.Usage, message);
}

// EXTERNAL MODULE: external "node:child_process"
var external_node_child_process_ = __webpack_require__(31421);
;// CONCATENATED MODULE: ./runner-proxy/src/cli/detach.ts





const START_TIMEOUT_MS = 60_000;
const LOG_FILE = 'gateway.log';
/**
 * Launches `govern serve` detached, its output going to DIR/gateway.log (never the caller's stdio,
 * which would keep a CI step open), and resolves once the gateway reports ready.
 */
async function startDetached({ entry, outDir: out, policy, tokenEnv, mode, env }) {
    const outDir = (0,external_node_path_.resolve)(out);
    (0,external_node_fs_.mkdirSync)(outDir, { recursive: true, mode: 0o700 });
    const logPath = (0,external_node_path_.join)(outDir, LOG_FILE);
    const logFd = (0,external_node_fs_.openSync)(logPath, 'a', 0o600);
    // A young generation of 2 MB rather than V8's up to 48 MB: the gateway's garbage (frames, statements,
    // events) dies young, and the default made up a third of its resident memory under load. One V8 helper
    // thread rather than one per core: the gateway's work is on its main thread, and each helper kept
    // compiler and collector memory of its own (RSS after 20,000 distinct statements 150 MB → 127 MB).
    const args = ['--max-semi-space-size=2', '--v8-pool-size=1', entry, 'serve', '--out', outDir, '--ready-fd', '3'];
    if (policy)
        args.push('--policy', (0,external_node_path_.resolve)(policy));
    if (tokenEnv)
        args.push('--token-env', tokenEnv);
    if (mode)
        args.push('--mode', mode);
    // Two malloc arenas rather than eight per core: V8 compiles the SQL parser's WebAssembly on background
    // threads, and memory freed there stayed with the process (204–226 MB after 100,000 distinct
    // statements, 164 MB with two arenas). A fixed mmap threshold: glibc otherwise raises it after each
    // large block freed, and later ones then fragment the heap for good.
    const child = (0,external_node_child_process_.spawn)(process.execPath, args, {
        detached: true,
        stdio: ['ignore', logFd, logFd, 'pipe'],
        env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: String(128 * 1024), ...env },
    });
    (0,external_node_fs_.closeSync)(logFd);
    const message = await new Promise((done) => {
        const pipe = child.stdio[3];
        let buffered = '';
        const timer = setTimeout(() => done({ error: `the gateway did not report ready within ${START_TIMEOUT_MS / 1000} s; see ${logPath}` }), START_TIMEOUT_MS);
        const finish = (m) => {
            clearTimeout(timer);
            child.removeAllListeners('exit');
            pipe.destroy();
            done(m);
        };
        pipe.setEncoding('utf8');
        pipe.on('data', (chunk) => {
            buffered += chunk;
            if (buffered.includes('\n'))
                finish(JSON.parse(buffered.slice(0, buffered.indexOf('\n'))));
        });
        pipe.on('error', () => undefined);
        child.once('exit', (status) => finish({ error: `the gateway exited with status ${status} while starting; see ${logPath}` }));
    });
    child.unref();
    if (!message.ready)
        throw new errors/* GovernError */.MF(message.code ?? errors/* ErrorCode */.O4.GatewayStartFailed, message.error ?? 'the gateway failed to start');
    return { env: withJobNoProxy(message.env ?? {}, env), secrets: message.secrets ?? [], withheld: message.withheld ?? [], publicKey: message.publicKey ?? '', identity: message.identity ?? 'unknown', outDir, pid: child.pid };
}

;// CONCATENATED MODULE: ./runner-proxy/src/cli/daemon.ts











/** `govern start`: the gateway detached, and the env to export printed in the chosen format. */
async function startCommand({ values, env, io }) {
    const format = values['env-format'];
    if (!ENV_FORMATS.includes(format))
        throw usage(`--env-format must be one of ${ENV_FORMATS.join(', ')}, not "${format}"`);
    const started = await startDetached({
        entry: io.entry,
        outDir: values.out,
        env,
        ...(values.policy !== undefined && { policy: values.policy }),
        ...(values['token-env'] !== undefined && { tokenEnv: values['token-env'] }),
        ...(values.mode !== undefined && { mode: values.mode }),
    });
    // GOVERN_OUT lets status, approve, deny and stop find this gateway without --out, as SSH_AUTH_SOCK does for ssh-add.
    io.stdout.write(formatEnv({ ...started.env, GOVERN_OUT: started.outDir }, format, started.withheld));
    io.stderr.write(`govern start: gateway ready (pid ${started.pid}); identity ${started.identity}; signing key ${started.publicKey}; bundle in ${started.outDir}\n`);
    return 0;
}
/** `govern serve`: the detached gateway. Stops on `govern stop`, SIGTERM or SIGINT. */
async function serveCommand({ values, env, log }) {
    const readyFd = values['ready-fd'] === undefined ? undefined : Number(values['ready-fd']);
    const report = (m) => {
        if (readyFd === undefined)
            return;
        (0,external_node_fs_.writeSync)(readyFd, `${JSON.stringify(m)}\n`);
        (0,external_node_fs_.closeSync)(readyFd);
    };
    let launched;
    try {
        launched = await launch({ policyPath: values.policy, outDir: values.out, tokenEnv: values['token-env'], mode: values.mode, env, log });
    }
    catch (e) {
        report({ error: e.message, ...(e instanceof errors/* GovernError */.MF && { code: e.code }) });
        throw e;
    }
    // A stop that cannot finalize still ends the gateway: `stopped` settles, and shutdown reports why.
    const stopOnSignal = (signal) => void launched.gateway.stop(`received ${signal}`).catch(() => undefined);
    process.once('SIGTERM', stopOnSignal);
    process.once('SIGINT', stopOnSignal);
    report({
        ready: true,
        env: launched.gateway.exports(),
        secrets: launched.gateway.secrets(),
        withheld: launched.withheld,
        publicKey: launched.gateway.signer.publicKey,
        identity: report_describeIdentity(principalRecord(launched.gateway.governor.principal)),
    });
    await launched.gateway.stopped.catch(() => undefined);
    // Closing the control server waits for the stop request's answer to leave.
    log.info((await shutdown(launched, 'stopped')).trimEnd());
    return 0;
}
async function stopCommand({ values, io }) {
    const outDir = values.out;
    if (!(0,external_node_fs_.existsSync)((0,external_node_path_.join)(outDir, RUNTIME_FILE)) && (0,external_node_fs_.existsSync)((0,external_node_path_.join)(outDir, MANIFEST_FILE))) {
        io.stderr.write(`govern stop: the gateway of ${outDir} has already stopped; its signed bundle is in ${outDir} (open report.html, or run govern verify ${outDir})\n`);
        return 0;
    }
    const { pid } = readRuntimeInfo(outDir);
    const summary = (await controlGateway(outDir, { cmd: 'stop' }, 120_000));
    io.stdout.write(summary);
    await waitForExit(pid, 10_000);
    return 0;
}
async function waitForExit(pid, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        try {
            process.kill(pid, 0);
        }
        catch {
            return;
        }
        await new Promise((r) => setTimeout(r, 50));
    }
}
async function statusCommand({ values, env, io }) {
    const status = (await controlGateway(values.out, { cmd: 'status' }));
    if (values.json) {
        io.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return 0;
    }
    const c = status.counts;
    const lines = [
        `gateway pid ${status.pid}, session ${status.session_id}, mode ${status.mode}`,
        `identity: ${status.identity.kind === 'none' ? 'none' : (status.identity.subject ?? status.identity.issuer)}${status.identity.readOnly ? ' (read-only)' : ''}`,
        ...status.connections.map((conn) => `connection ${conn.name}: ${conn.protocol} ${conn.target} as $${conn.export}`),
        `operations: ${c.operations} (${c.allowed} allowed, ${c.blocked} blocked, ${c.approved} approved, ${c.denied} denied${c.would_block || c.would_hold ? `; observed: ${c.would_block} would block, ${c.would_hold} would hold` : ''}), ${c.masked_values} values masked`,
        status.pending.length ? 'waiting for approval:' : 'nothing waits for approval',
        ...status.pending.flatMap((p) => {
            const waited = Date.now() - Date.parse(p.requested_at);
            const left = Math.max(0, Math.round((status.approval_timeout_ms - waited) / 1000));
            const where = env.GOVERN_OUT === status.out_dir ? '' : ` --out ${status.out_dir}`;
            return [
                `  ${p.id}  ${p.connection}  rule ${p.rule}  waiting ${Math.round(waited / 1000)} s, ${left} s left before it is denied  ${p.operation}`,
                `    release it: govern approve ${p.id}${where}    refuse it: govern deny ${p.id}${where}`,
            ];
        }),
    ];
    io.stdout.write(`${lines.join('\n')}\n`);
    return 0;
}
async function approveCommand({ values, positionals, io }, decision) {
    const [id, extra] = positionals;
    if (!id || extra)
        throw usage(`govern ${decision} takes exactly one approval id, as listed by govern status`);
    await controlGateway(values.out, { cmd: decision, id, ...(values.reason !== undefined && { reason: values.reason }) });
    io.stdout.write(`${id}: ${decision === 'approve' ? 'approved' : 'denied'}\n`);
    return 0;
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/replay.ts

/** The session as a readable timeline: one line an event, times relative to the start. */
function formatTimeline(events, options = {}) {
    if (events.length === 0)
        return '(no events)\n';
    const start = Date.parse(events[0].ts);
    const operations = new Map();
    const lines = [];
    const line = (ts, seq, connection, text) => {
        if (!options.connection || connection === options.connection)
            lines.push(`${clock(Date.parse(ts) - start)}  ${seq.padEnd(5)} ${(connection ?? '-').padEnd(12)} ${text}`);
    };
    for (const e of events) {
        // Results of earlier operations ride on the next event recorded: each is shown before that event.
        for (const result of e.results ?? []) {
            const op = operations.get(result.op);
            line(e.ts, '', op?.connection, describeResult(result, op));
        }
        if (e.type === 'operation')
            operations.set(e.seq, e);
        const text = describe(e);
        if (text)
            line(e.ts, `#${e.seq}`, e.connection, text);
    }
    return `${lines.join('\n')}\n`;
}
/** The policy in force, as kept in the bundle, indented under a line naming its digest. */
function formatPolicy(policy, text) {
    const head = `policy in force: ${policy.file} (${policy.mode}), sha256 ${policy.sha256}`;
    if (text === undefined)
        return `${head}; its text is not in this bundle\n\n`;
    return `${head}, as kept in the bundle:\n${text.replace(/\n$/, '').split('\n').map((l) => `  | ${l}`).join('\n')}\n\n`;
}
function clock(ms) {
    const m = Math.floor(ms / 60_000);
    const s = ((ms % 60_000) / 1000).toFixed(3).padStart(6, '0');
    return `${String(m).padStart(2, '0')}:${s}`;
}
function oneLine(text, max = 160) {
    const s = String(text).replace(/\s+/g, ' ').trim();
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
function describe(e) {
    switch (e.type) {
        case 'session.start': {
            const identity = e.identity;
            const who = identity.kind === 'none' ? 'no identity' : oneLine(identity.claims?.repository ?? identity.claims?.project_path ?? identity.claims?.sub ?? 'oidc');
            const policy = e.policy;
            return `session start: ${who}, policy ${policy.file} (${policy.mode})`;
        }
        case 'listener.ready':
            return `listening for ${String(e.protocol)} → ${String(e.target)}`;
        case 'connection.open':
            return `connection opened${e.peer ? ` from ${String(e.peer)}` : ''}`;
        case 'connection.close':
            return `connection closed (${String(e.reason)})`;
        case 'operation': {
            const wouldBe = e.verdict === 'approve' ? 'WOULD HOLD' : `WOULD ${String(e.verdict).toUpperCase()}`;
            const verdict = e.enforced ? `${wouldBe} (observe: let through)` : String(e.verdict).toUpperCase();
            return `${oneLine(e.text)}  → ${verdict}${e.rule ? ` by ${String(e.rule)}` : ''}`;
        }
        case 'approval.requested':
            return `approval requested: ${String(e.request_id)} for #${String(e.op)} (rule ${String(e.rule)}, via ${String(e.via)})`;
        case 'approval.decided':
            return `approval ${String(e.request_id)}: ${String(e.outcome)} by ${String(e.by)}${e.reason ? ` (${oneLine(e.reason)})` : ''}`;
        case 'process.start':
            return `command started: ${oneLine(e.command)}`;
        case 'process.exit':
            return `command exited: ${e.signal ? `signal ${String(e.signal)}` : `status ${String(e.status)}`} after ${String(e.duration_ms)} ms`;
        case 'session.end': {
            const c = e.counts;
            const counted = c
                ? `; ${c.operations} operations: ${c.allowed} allowed, ${c.blocked} blocked, ${c.approved} approved, ${c.denied} denied, ${c.would_block ?? 0} would block, ${c.would_hold ?? 0} would hold`
                : '';
            return `session end: ${String(e.reason)}${counted}`;
        }
        case 'results':
            return undefined;
        default: {
            // The catalogue names the rest; warnings and errors say so first.
            const { kind, label, detail } = describeEvent(e);
            const severity = kind && kind.severity !== 'info' ? `${kind.severity.toUpperCase()} ` : '';
            return `${severity}${label}${detail ? `: ${oneLine(detail)}` : ''}`;
        }
    }
}
function describeResult(e, op) {
    const parts = [
        e.tag !== undefined && String(e.tag),
        e.rows !== undefined && `${String(e.rows)} rows`,
        e.bytes !== undefined && `${String(e.bytes)} bytes`,
        e.masked !== undefined && `${String(e.masked)} masked`,
        `${String(e.duration_ms)} ms`,
        e.error !== undefined && `error: ${oneLine(e.error)}`,
    ].filter(Boolean);
    return `  ↳ #${String(e.op)}${op ? '' : ' (unknown operation)'} ${parts.join(', ')}`;
}

;// CONCATENATED MODULE: ./runner-proxy/src/recording/verify.ts





/** Checks the signature, the hash chain and completeness of a session bundle. */
function verifyBundle(dir, options = {}) {
    const fail = (problem, events, extra = {}) => ({ ok: false, problem, events, ...extra });
    const eventsPath = (0,external_node_path_.join)(dir, EVENTS_FILE);
    if (!(0,external_node_fs_.existsSync)(eventsPath))
        return fail(`${dir} has no ${EVENTS_FILE}; it is not a session bundle`, []);
    const raw = (0,external_node_fs_.readFileSync)(eventsPath);
    const chain = checkChain(raw.toString('utf8'));
    const manifestPath = (0,external_node_path_.join)(dir, MANIFEST_FILE);
    if (!(0,external_node_fs_.existsSync)(manifestPath)) {
        return fail(chain.problem ?? `${MANIFEST_FILE} is missing: the gateway never finalized this session (${chain.events.length} events recorded)`, chain.events, chain.brokenSeq !== undefined ? { brokenSeq: chain.brokenSeq } : {});
    }
    let manifest;
    try {
        manifest = JSON.parse((0,external_node_fs_.readFileSync)(manifestPath, 'utf8'));
    }
    catch {
        return fail(`${MANIFEST_FILE} is not valid JSON`, chain.events);
    }
    if (!signatureValid(manifest))
        return fail(`${MANIFEST_FILE}'s signature does not verify: the manifest was altered`, chain.events, { manifest });
    if (options.expectedKey && options.expectedKey !== manifest.public_key) {
        return fail(`the bundle is signed by ${manifest.public_key}, not by the expected key ${options.expectedKey}`, chain.events, { manifest });
    }
    // A line cut off by a failed write is no tampering when the signed manifest says the recording failed there.
    const declaredCut = chain.truncated && manifest.events.failure !== undefined;
    if (chain.problem && !declaredCut)
        return fail(chain.problem, chain.events, { manifest, ...(chain.brokenSeq !== undefined && { brokenSeq: chain.brokenSeq }) });
    const { count, head } = manifest.events;
    if (chain.events.length !== count) {
        const brokenSeq = Math.min(chain.events.length, count) + 1;
        return fail(chain.events.length > count
            ? `${EVENTS_FILE} has ${chain.events.length} events but the signed manifest counts ${count}: event ${brokenSeq} was added afterwards`
            : `${EVENTS_FILE} ends after event ${chain.events.length} but the signed manifest counts ${count}: events from ${brokenSeq} on are missing`, chain.events, { manifest, brokenSeq });
    }
    if ((chain.events.at(-1)?.hash ?? GENESIS) !== head)
        return fail(`the chain head does not match the signed manifest`, chain.events, { manifest, brokenSeq: count });
    for (const [file, digest] of Object.entries(manifest.files)) {
        const path = (0,external_node_path_.join)(dir, file);
        if (!(0,external_node_fs_.existsSync)(path))
            return fail(`${file} is listed in the manifest but missing from the bundle`, chain.events, { manifest });
        if (sha256Hex((0,external_node_fs_.readFileSync)(path)) !== digest)
            return fail(`${file} does not match its digest in the manifest`, chain.events, { manifest });
    }
    const unlisted = bundleFiles(dir).find((f) => !(f in manifest.files));
    if (unlisted)
        return fail(`${unlisted} is in the bundle but not in the signed manifest`, chain.events, { manifest });
    const policyProblem = checkPolicyCopy(manifest, chain.events[0]);
    if (policyProblem)
        return fail(policyProblem, chain.events, { manifest });
    return { ok: true, manifest, events: chain.events, ...(manifest.events.failure !== undefined && { failure: manifest.events.failure }) };
}
/** The bundled policy must be the one whose digest the session recorded when it started. */
function checkPolicyCopy(manifest, start) {
    const { bundled, sha256 } = manifest.policy;
    if (bundled === undefined)
        return undefined;
    if (bundled !== POLICY_FILE || manifest.files[POLICY_FILE] !== sha256)
        return `${POLICY_FILE} is not the policy whose digest the manifest names`;
    const recorded = start?.policy?.sha256;
    if (start?.type !== 'session.start' || recorded !== sha256)
        return `the manifest's policy digest is not the one recorded when the session started`;
    return undefined;
}
function checkChain(text) {
    const events = [];
    if (text.length > 0 && !text.endsWith('\n')) {
        // A line without its newline was cut off mid-write; name it, the rest is checked as usual.
        const count = text.split('\n').length;
        const partial = checkLines(text.split('\n').slice(0, -1), events);
        return partial.problem ? partial : { events, problem: `${EVENTS_FILE} is truncated: event ${count} is cut off`, brokenSeq: count, truncated: true };
    }
    return checkLines(text.split('\n').slice(0, -1), events);
}
function checkLines(lines, events) {
    let prev = GENESIS;
    for (let i = 0; i < lines.length; i++) {
        const expected = i + 1;
        let event;
        try {
            event = JSON.parse(lines[i]);
        }
        catch {
            return { events, problem: `${EVENTS_FILE} line ${expected} is not JSON`, brokenSeq: expected };
        }
        if (event.seq !== expected) {
            return { events, problem: `event at line ${expected} has seq ${String(event.seq)}: events were removed or reordered`, brokenSeq: expected };
        }
        if (event.prev !== prev) {
            return { events, problem: `event ${expected} does not follow event ${expected - 1}: an event before it was removed or changed`, brokenSeq: expected };
        }
        const { hash, ...body } = event;
        if (chainHash(prev, canonical(body)) !== hash)
            return { events, problem: `event ${expected} (${String(event.type)}) was altered: its hash does not match its content`, brokenSeq: expected };
        events.push(event);
        prev = hash;
    }
    return { events };
}

;// CONCATENATED MODULE: ./runner-proxy/src/cli/inspect.ts














/** The one session directory a command reads: it must exist and hold a recording. */
function oneBundle(positionals, command) {
    if (positionals.length !== 1)
        throw usage(`govern ${command} takes one session directory, such as ./govern-session`);
    const dir = positionals[0];
    if (!(0,external_node_fs_.existsSync)(dir))
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.BundleNotFound, `${dir} does not exist; give the directory the session was recorded in (--out of govern start or run, or the unzipped artifact)`);
    if (!(0,external_node_fs_.statSync)(dir).isDirectory())
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.BundleNotFound, `${dir} is a file; give the session directory that holds ${EVENTS_FILE}`);
    if (!(0,external_node_fs_.existsSync)((0,external_node_path_.join)(dir, EVENTS_FILE)))
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.BundleNotFound, `${dir} is not a session bundle: it has no ${EVENTS_FILE}`);
    return dir;
}
const PUBLIC_KEY = /^ed25519:[A-Za-z0-9_-]{43}$/;
async function inspect_verifyCommand({ values, positionals, io }) {
    const key = values.key;
    if (key !== undefined && !PUBLIC_KEY.test(key)) {
        throw usage(`--key must be the signing key printed by govern start, "ed25519:" and 43 base64url characters, not "${key.length > 60 ? `${key.slice(0, 60)}…` : key}"`);
    }
    const dir = oneBundle(positionals, 'verify');
    const bindingOptions = bindingCheckOptions(values);
    const result = verifyBundle(dir, values.key ? { expectedKey: values.key } : {});
    const binding = result.ok ? await checkJobBinding(result.manifest.job_binding, result.manifest.public_key, { ...bindingOptions, identityClaims: identityClaims(result.manifest) }) : undefined;
    // An expectation that cannot be checked is not met: a bundle without a binding could belong to any job.
    const expected = bindingOptions.expectRepository !== undefined || bindingOptions.expectWorkflow !== undefined;
    const ok = result.ok && (binding.status === 'bound' || (binding.status === 'absent' && !expected));
    if (values.json) {
        const { events, manifest, ...rest } = result;
        io.stdout.write(`${JSON.stringify({ ...rest, ok, events: events.length, public_key: manifest?.public_key, ...(binding && { job_binding: binding }) }, null, 2)}\n`);
    }
    else if (result.ok) {
        const m = result.manifest;
        const out = ok ? io.stdout : io.stderr;
        out.write(`${dir}: ${ok ? 'ok' : 'FAILED'} — ${m.events.count} events, chain head ${m.events.head.slice(0, 16)}, signed by ${m.public_key}\n`);
        if (binding?.status === 'bound')
            out.write(`${dir}: bound to the job by the forge: ${binding_describeRun(binding.run)}\n`);
        else
            out.write(`${dir}: ${ok ? 'warning' : 'FAILED'} — ${binding.problem}\n`);
        if (result.failure)
            out.write(`${dir}: the recording failed, as the signed manifest says: ${result.failure}\n`);
    }
    else {
        const broken = result.brokenSeq !== undefined ? ` (first broken event: #${result.brokenSeq})` : '';
        io.stderr.write(`${dir}: FAILED — ${result.problem}${broken}\n`);
    }
    return ok ? 0 : 1;
}
/** --issuer, --jwks and the expectations, checked before any bundle is read. */
function bindingCheckOptions(values) {
    const issuer = values.issuer;
    if (issuer !== undefined && !/^https?:\/\/[^\s]+$/.test(issuer))
        throw usage(`--issuer must be the issuer's URL, such as ${GITHUB_ISSUER}, not "${issuer}"`);
    const jwksFile = values.jwks;
    let jwks;
    if (jwksFile !== undefined) {
        try {
            jwks = JSON.parse((0,external_node_fs_.readFileSync)(jwksFile, 'utf8'));
        }
        catch (e) {
            throw usage(`--jwks must name a JSON Web Key Set file (the issuer's /.well-known/jwks), and ${jwksFile} is not one: ${e.message}`);
        }
        if (!Array.isArray(jwks?.keys))
            throw usage(`--jwks must name a JSON Web Key Set file, and ${jwksFile} has no "keys" list`);
    }
    return {
        ...(issuer !== undefined && { issuer }),
        ...(jwks && { jwks }),
        ...(values['expect-repository'] !== undefined && { expectRepository: values['expect-repository'] }),
        ...(values['expect-workflow'] !== undefined && { expectWorkflow: values['expect-workflow'] }),
    };
}
function identityClaims(manifest) {
    return manifest.identity.claims;
}
async function replayCommand({ values, positionals, io }) {
    const dir = oneBundle(positionals, 'replay');
    const result = verifyBundle(dir);
    if (!result.ok)
        io.stderr.write(`warning: ${dir} does not verify: ${result.problem}\n`);
    const policy = result.manifest?.policy ?? result.events[0]?.policy;
    if (policy && !values.connection) {
        const copy = (0,external_node_path_.join)(dir, POLICY_FILE);
        io.stdout.write(formatPolicy(policy, (0,external_node_fs_.existsSync)(copy) ? (0,external_node_fs_.readFileSync)(copy, 'utf8') : undefined));
    }
    io.stdout.write(formatTimeline(result.events, values.connection ? { connection: values.connection } : {}));
    if (!values.connection)
        return 0;
    const speed = values.speed === undefined ? 1 : Number(values.speed);
    if (!(speed > 0))
        throw usage(`--speed takes a positive number, such as 2 or 0.5, not "${String(values.speed)}"`);
    for (const cast of terminalCasts(dir, result.events, values.connection)) {
        io.stdout.write(`\n--- terminal of operation #${cast.seq} ---\n`);
        await playCast(cast.file, (text) => io.stdout.write(text), speed);
        io.stdout.write(`\n--- end of terminal #${cast.seq} ---\n`);
    }
    return 0;
}
async function policyCheckCommand({ values, positionals, env, io }) {
    const [sub, file, extra] = positionals;
    if (sub !== 'check' || !file || extra)
        throw usage('use govern policy check FILE, govern policy suggest DIR… or govern policy test FILE DIR…');
    try {
        const policy = loadPolicy(file, { env, resolveVariables: !values['no-env'], protocols: builtInProtocols() });
        const adapters = builtInAdapters();
        const unserved = policy.connections.filter((c) => !adapters.has(c.protocol));
        if (unserved.length) {
            io.stderr.write(`${unserved.map((c) => `${file}: ${cannotServe(c, adapters)}`).join('\n')}\n${unserved.length} problem${unserved.length === 1 ? '' : 's'} in ${file}\n`);
            return 1;
        }
        const count = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;
        for (const w of policy.warnings)
            io.stderr.write(`${(0,errors/* formatProblem */.Vw)({ ...w, message: `warning: ${w.message}` })}\n`);
        io.stdout.write(`${file}: ok — ${count(policy.connections.length, 'connection')}, ${count(policy.rules.length, 'rule')}, mode ${policy.mode}${policy.identity ? '' : ', no identity section (runs are recorded as identity "none")'}\n`);
        return 0;
    }
    catch (e) {
        if (!(e instanceof errors/* PolicyError */.pn))
            throw e;
        io.stderr.write(`${e.problems.map(errors/* formatProblem */.Vw).join('\n')}\n${e.problems.length} problem${e.problems.length === 1 ? '' : 's'} in ${file}\n`);
        return 1;
    }
}

// EXTERNAL MODULE: ./runner-proxy/src/adapters/postgres/parser.ts
var parser = __webpack_require__(76409);
// EXTERNAL MODULE: ./runner-proxy/src/base/lru.ts
var lru = __webpack_require__(80306);
// EXTERNAL MODULE: ./runner-proxy/src/adapters/postgres/classify.ts + 3 modules
var classify = __webpack_require__(49764);
;// CONCATENATED MODULE: ./runner-proxy/src/rollout/sessions.ts







/**
 * The bundles under each DIR: DIR itself when it holds events.jsonl, else every directory below it
 * (to any depth) that does: a folder of downloaded artifacts is given as one DIR.
 */
function bundleDirs(dirs) {
    const found = [];
    const walk = (dir) => {
        if ((0,external_node_fs_.existsSync)((0,external_node_path_.join)(dir, EVENTS_FILE)))
            return void found.push(dir);
        for (const name of (0,external_node_fs_.readdirSync)(dir).sort()) {
            const path = (0,external_node_path_.join)(dir, name);
            if ((0,external_node_fs_.statSync)(path).isDirectory())
                walk(path);
        }
    };
    for (const dir of dirs) {
        if (!(0,external_node_fs_.existsSync)(dir) || !(0,external_node_fs_.statSync)(dir).isDirectory())
            throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.Usage, `${dir} is not a directory; give session bundles (or folders of them)`);
        const before = found.length;
        walk(dir);
        if (found.length === before)
            throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.Usage, `${dir} holds no session bundle (no ${EVENTS_FILE} in it or below it)`);
    }
    return found;
}
/** Verifies every bundle (signature, chain, completeness) and reads the ones that pass. */
function loadSessions(dirs) {
    const sessions = [];
    const skipped = [];
    for (const dir of bundleDirs(dirs)) {
        const result = verifyBundle(dir);
        if (!result.ok || !result.manifest) {
            skipped.push({ dir, problem: result.problem ?? 'the bundle does not verify' });
            continue;
        }
        const policyInForce = bundledPolicy(dir, result.manifest);
        sessions.push({ dir, manifest: result.manifest, events: result.events, discovery: mergedDiscovery(result.events), ...(policyInForce && { policyInForce }) });
    }
    if (sessions.length === 0) {
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.Usage, `no session bundle verified: ${skipped.map((s) => `${s.dir}: ${s.problem}`).join('; ')}`);
    }
    return { sessions, skipped };
}
/** The policy a bundle says was in force, read from the copy it carries (signed with it); none when it has no copy. */
function bundledPolicy(dir, manifest) {
    const bundled = manifest.policy.bundled;
    if (typeof bundled !== 'string')
        return undefined;
    try {
        return parsePolicy(manifest.policy.file, (0,external_node_fs_.readFileSync)((0,external_node_path_.join)(dir, bundled)), { env: {}, resolveVariables: false, protocols: builtInProtocols() });
    }
    catch {
        // A copy this version cannot read (a newer policy format): the recorded verdicts and masks still serve.
        return undefined;
    }
}
/** The session's discovery events (one per gateway run), as one record. */
function mergedDiscovery(events) {
    const merged = { sources: {}, statements: {} };
    for (const e of events) {
        if (e.type !== 'discovery')
            continue;
        const record = e;
        Object.assign(merged.statements, record.statements);
        for (const [source, counts] of Object.entries(record.sources ?? {})) {
            const into = (merged.sources[source] ??= { seen: 0, matched: {} });
            into.seen += counts.seen;
            for (const [type, n] of Object.entries(counts.matched))
                into.matched[type] = (into.matched[type] ?? 0) + n;
        }
    }
    return merged;
}
/** The operation events of a session, in order. */
function operationsOf(session) {
    return session.events.filter((e) => e.type === 'operation');
}
/** A session's short name for comments and reports: its run id where the identity has one, else its id. */
function sessionLabel(session) {
    const claims = session.manifest.identity.claims ?? {};
    const run = claims.run_id ?? claims.pipeline_id ?? claims.job_id;
    return run !== undefined ? `run ${String(run)}` : `session ${session.manifest.session_id.slice(0, 8)}`;
}

;// CONCATENATED MODULE: ./runner-proxy/src/rollout/observed.ts

/** Something seen in the recorded sessions: how often, and in which of them. */
class Tally {
    #counts = new Map();
    add(key, session) {
        let entry = this.#counts.get(key);
        if (!entry)
            this.#counts.set(key, (entry = { operations: 0, sessions: new Set() }));
        entry.operations++;
        entry.sessions.add(session);
    }
    get keys() {
        return [...this.#counts.keys()].sort();
    }
    get size() {
        return this.#counts.size;
    }
    /** "3 operations in run 41, run 42" for the keys given (all by default). */
    provenance(keys = this.keys) {
        let operations = 0;
        const sessions = new Set();
        for (const key of keys) {
            const entry = this.#counts.get(key);
            if (!entry)
                continue;
            operations += entry.operations;
            for (const s of entry.sessions)
                sessions.add(s);
        }
        return `${operations} operation${operations === 1 ? '' : 's'} in ${[...sessions].sort().join(', ')}`;
    }
}
/** HTTP paths with their ids taken out: a segment with a digit (other than a version such as v1) becomes `*`. */
function generalisedPath(path) {
    return path
        .split('?')[0]
        .split('/')
        .map((segment) => (/\d/.test(segment) && !/^v\d+$/i.test(segment) ? '*' : segment))
        .join('/');
}
/** METHOD and path of a recorded HTTP operation ("GET /v1/customers/1"). */
function httpRequestOf(event) {
    const text = String(event.text ?? '');
    const space = text.indexOf(' ');
    return { method: text.slice(0, space).toUpperCase(), path: (text.slice(space + 1).split('?')[0] ?? '') || '/' };
}
function observe(sessions) {
    const observed = { sessions, identities: [], connections: new Map(), proxyHosts: new Tally(), tunnelledHosts: new Tally(), maskedColumns: new Tally() };
    const identities = [];
    for (const session of sessions) {
        const label = sessionLabel(session);
        const identity = session.manifest.identity;
        if (identity.issuer)
            identities.push({ label, issuer: identity.issuer, claims: identity.claims ?? {} });
        for (const c of session.manifest.connections) {
            if (!observed.connections.has(c.name))
                observed.connections.set(c.name, { name: c.name, protocol: c.protocol, export: c.export, seen: new Tally() });
        }
        for (const event of session.events) {
            if (event.type === 'tunnel' && typeof event.host === 'string')
                observed.tunnelledHosts.add(event.host, label);
            for (const result of event.results ?? []) {
                for (const key of Object.keys(result.masked_by ?? {}))
                    if (key.includes('.'))
                        observed.maskedColumns.add(key, label);
            }
        }
        for (const op of operationsOf(session)) {
            const name = String(op.connection);
            if (name.startsWith('proxy:'))
                observed.proxyHosts.add(name.slice('proxy:'.length), label);
            let connection = observed.connections.get(name);
            if (!connection)
                observed.connections.set(name, (connection = { name, protocol: String(op.protocol), export: '', seen: new Tally() }));
            for (const key of seenKeys(op))
                connection.seen.add(key, label);
        }
    }
    return { ...observed, identities };
}
/** What an operation contributes to its connection's allow-list. */
function seenKeys(op) {
    switch (op.protocol) {
        case 'postgres':
            return op.classes ?? [];
        case 'http': {
            const { method, path } = httpRequestOf(op);
            return [`${method} ${generalisedPath(path)}`];
        }
        case 'ssh':
            return (op.argv ?? []).map((argv) => argv[0]?.split('/').pop() ?? '').filter(Boolean);
        default:
            return [];
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/rollout/redecide.ts



/** What the recorder put in place of a sensitive value: a constant again for the parser, which classes never depend on. */
const REDACTION = /\[masked(?::[a-z_]+)?\]/g;
const CLASSIFICATIONS = 10_000;
/**
 * Rebuilds the operations of recorded sessions for the rule engine: SQL is classified again from its
 * recorded text (with its redactions turned back into constants, so they cannot change its class);
 * HTTP requests and SSH commands keep what was recorded of them.
 */
class OperationRebuilder {
    #classifier;
    constructor(parser) {
        this.#classifier = new classify/* SqlClassifier */.YM({ parser, cache: new lru/* LruCache */.Q(CLASSIFICATIONS) });
    }
    *operations(session) {
        const approved = new Set();
        for (const e of session.events)
            if (e.type === 'approval.decided' && e.outcome === 'approved')
                approved.add(Number(e.op));
        const hosts = new Map(session.manifest.connections.map((c) => [c.name, hostOf(c.target)]));
        for (const event of session.events) {
            if (event.type !== 'operation')
                continue;
            const verdict = event.verdict;
            const enforced = event.enforced ?? verdict;
            const ran = enforced === 'allow' || (enforced === 'approve' && approved.has(event.seq));
            const rebuilt = this.#rebuild(event, hosts);
            yield { session, event, verdict, ran, ...rebuilt };
        }
    }
    /** The statement's classification from its recorded text. */
    classify(text) {
        return this.#classifier.classify(text.replace(REDACTION, '0'));
    }
    #rebuild(event, hosts) {
        const connection = String(event.connection);
        const recordedClasses = new Set(event.classes ?? []);
        const base = { connection, text: String(event.text ?? ''), writes: recordedClasses.has('write') };
        switch (event.protocol) {
            case 'postgres': {
                const sql = this.classify(base.text);
                // Text the recorder kept whole but the parser no longer reads keeps the class it was decided with.
                if (sql.syntaxError !== undefined && !recordedClasses.has('unparseable'))
                    return { op: { ...base, protocol: 'postgres', classes: recordedClasses } };
                return { op: { ...base, protocol: 'postgres', classes: sql.classes, writes: sql.writes }, ...(sql.shape !== undefined && { shape: sql.shape }) };
            }
            case 'http': {
                const { method, path } = httpRequestOf(event);
                const host = connection.startsWith('proxy:') ? connection.slice('proxy:'.length) : hosts.get(connection);
                return { op: { ...base, protocol: 'http', classes: recordedClasses, method, path, ...(host !== undefined && { host }) } };
            }
            case 'ssh':
                return { op: { ...base, protocol: 'ssh', classes: recordedClasses, commands: event.argv ?? [], ...(typeof event.path === 'string' && { path: event.path }) } };
            default:
                return { op: { ...base, protocol: 'process', classes: recordedClasses } };
        }
    }
}
function hostOf(target) {
    try {
        return new URL(target).hostname.toLowerCase();
    }
    catch {
        return undefined;
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/rollout/policy-test.ts





const CHANGE_KINDS = ['newly_blocked', 'newly_held', 'newly_allowed'];
const EXAMPLES = 5;
/**
 * Re-decides every recorded operation of the sessions under a policy and says what would change:
 * verdicts (newly blocked, held, allowed), masks by source column, and whether each session's
 * identity would still be trusted. Masks are judged from the source columns discovery recorded per
 * statement shape, against the masks of the policy in force (its copy in the bundle, else the columns
 * the session's results counted as masked).
 */
function testPolicy(policy, sessions, skipped, parser) {
    const rules = new core_rules/* RuleEngine */.f({ rules: policy.rules, mode: 'enforce', protocols: policy.protocols });
    const rebuilder = new OperationRebuilder(parser);
    const unrecordedFacts = rulesReadingUnrecorded(policy);
    const result = {
        policy: { file: policy.file, sha256: policy.sha256 },
        sessions: [],
        skipped: [...skipped],
        operations: 0,
        unchanged: 0,
        changes: { newly_blocked: emptyGroup(), newly_held: emptyGroup(), newly_allowed: emptyGroup() },
        masks: { added: [], removed: [] },
        undecided: emptyGroup(),
    };
    const masks = new MaskComparison();
    for (const session of sessions) {
        const principal = policy_test_principalOf(session);
        const identity = policy.identity && principal.issuer ? trustProblem(policy.identity, principal.issuer, principal.claims) : undefined;
        let operations = 0;
        const maskedBefore = maskedBeforeIn(session);
        for (const recorded of rebuilder.operations(session)) {
            operations++;
            const decision = rules.evaluate(recorded.op, principal);
            const verdict = identity ? 'block' : decision.policyVerdict;
            if (recorded.shape !== undefined)
                masks.compare(recorded, session.discovery.statements[recorded.shape], decision.masks.columns, maskedBefore(recorded));
            if (verdict === recorded.verdict) {
                result.unchanged++;
                continue;
            }
            const rule = identity ? 'identity' : decision.rule;
            if (!identity && recorded.op.protocol === 'http' && unrecordedFacts.some((applies) => applies(recorded.op.connection))) {
                addExample(result.undecided, recorded, verdict, rule);
                continue;
            }
            addExample(result.changes[verdict === 'block' ? 'newly_blocked' : verdict === 'approve' ? 'newly_held' : 'newly_allowed'], recorded, verdict, rule);
        }
        result.operations += operations;
        result.sessions.push({ label: sessionLabel(session), dir: session.dir, policy_sha256: session.manifest.policy.sha256, operations, ...(identity && { identity }) });
    }
    result.masks = masks.changes();
    return result;
}
const emptyGroup = () => ({ count: 0, ran: 0, examples: [] });
function addExample(group, recorded, to, rule) {
    group.count++;
    if (recorded.ran)
        group.ran++;
    const { op, event, session } = recorded;
    const same = group.examples.find((e) => e.connection === op.connection && e.text === op.text);
    if (same)
        return void same.count++;
    if (group.examples.length >= EXAMPLES)
        return;
    group.examples.push({ session: sessionLabel(session), seq: event.seq, connection: op.connection, text: op.text, from: recorded.verdict, to, ...(rule && { rule }), count: 1 });
}
/** The identity the session ran as, as recorded. */
function policy_test_principalOf(session) {
    const identity = session.manifest.identity;
    if (identity.kind !== 'oidc')
        return NO_IDENTITY;
    return { kind: 'oidc', ...(identity.issuer && { issuer: identity.issuer }), claims: identity.claims ?? {}, readOnly: identity.read_only === true };
}
/**
 * What the policy in force masked for an operation: its own column masks when the bundle carries it,
 * else every column the session's results counted as masked (`masked_by`, by `table.column`).
 */
function maskedBeforeIn(session) {
    if (session.policyInForce) {
        const rules = new core_rules/* RuleEngine */.f({ rules: session.policyInForce.rules, mode: 'enforce', protocols: session.policyInForce.protocols });
        return (recorded) => {
            const columns = rules.maskPlan(recorded.op).columns;
            return (table, qualified, column) => columns.some((m) => m.matches(table, column) || m.matches(qualified, column));
        };
    }
    const masked = new Set();
    for (const e of session.events) {
        for (const r of e.results ?? []) {
            for (const key of Object.keys(r.masked_by ?? {}))
                if (key.includes('.'))
                    masked.add(key);
        }
    }
    const before = (table, _qualified, column) => masked.has(`${table}.${column}`);
    return () => before;
}
/** Tells, per connection, whether some rule of the policy reads request facts the bundle does not keep. */
function rulesReadingUnrecorded(policy) {
    return policy.rules
        .filter((r) => r.condition?.json !== undefined || r.when?.headers || r.when?.query || r.condition?.http?.some((p) => typeof p !== 'string' && (p.headers || p.query)))
        .map((r) => (connection) => !r.when?.connection || r.when.connection.includes(connection));
}
/** Compares, per source column, the masks the policy in force applied with those the tested policy would. */
class MaskComparison {
    #added = new Map();
    #removed = new Map();
    compare(recorded, sources, masks, maskedBefore) {
        for (const source of sources ?? []) {
            if (!source)
                continue;
            const dot = source.lastIndexOf('.');
            const [qualified, column] = [source.slice(0, dot), source.slice(dot + 1)];
            const table = qualified.slice(qualified.indexOf('.') + 1);
            const before = maskedBefore(table, qualified, column);
            const after = masks.some((m) => m.matches(table, column) || m.matches(qualified, column));
            if (before === after)
                continue;
            const into = after ? this.#added : this.#removed;
            const change = into.get(source) ?? { column: source, operations: 0, example: recorded.op.text };
            change.operations++;
            into.set(source, change);
        }
    }
    changes() {
        const sorted = (m) => [...m.values()].sort((a, b) => a.column.localeCompare(b.column));
        return { added: sorted(this.#added), removed: sorted(this.#removed) };
    }
}

;// CONCATENATED MODULE: ./runner-proxy/src/rollout/test-report.ts


const FAIL_ON_ITEMS = ['blocked', 'held', 'allowed', 'unmasked', 'masked', 'identity'];
const DEFAULT_FAIL_ON = ['blocked', 'held', 'identity'];
function parseReportFormat(value) {
    if (value === undefined)
        return 'text';
    if (value === 'text' || value === 'markdown' || value === 'json')
        return value;
    throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.Usage, `--format must be text, markdown or json, not "${String(value)}"`);
}
/** "blocked,held", "never", or absent (the default: blocked, held, identity). */
function parseTestFailOn(value) {
    if (value === undefined)
        return DEFAULT_FAIL_ON;
    if (value === 'never')
        return [];
    const items = String(value).split(',').map((s) => s.trim());
    const wrong = items.find((i) => !FAIL_ON_ITEMS.includes(i));
    if (wrong !== undefined)
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.Usage, `--fail-on takes never or a comma-separated list of ${FAIL_ON_ITEMS.join(', ')}; "${wrong}" is none of them`);
    return items;
}
/** Why the test fails under `failOn`, or undefined when it passes. */
function failure(result, failOn) {
    const reasons = [];
    const { newly_blocked, newly_held, newly_allowed } = result.changes;
    if (failOn.includes('blocked') && newly_blocked.ran)
        reasons.push(`${newly_blocked.ran} operation${plural(newly_blocked.ran)} that ran would now be blocked`);
    if (failOn.includes('held') && newly_held.ran)
        reasons.push(`${newly_held.ran} operation${plural(newly_held.ran)} that ran would now be held for approval`);
    if (failOn.includes('allowed') && newly_allowed.count)
        reasons.push(`${newly_allowed.count} operation${plural(newly_allowed.count)} would now be allowed`);
    if (failOn.includes('unmasked') && result.masks.removed.length)
        reasons.push(`${result.masks.removed.length} column${plural(result.masks.removed.length)} would no longer be masked`);
    if (failOn.includes('masked') && result.masks.added.length)
        reasons.push(`${result.masks.added.length} column${plural(result.masks.added.length)} would newly be masked`);
    const rejected = result.sessions.filter((s) => s.identity).length;
    if (failOn.includes('identity') && rejected)
        reasons.push(`${rejected} session${plural(rejected)}' identity would no longer be trusted`);
    return reasons.length ? reasons.join('; ') : undefined;
}
const plural = (n) => (n === 1 ? '' : 's');
const TITLES = { newly_blocked: 'Newly blocked', newly_held: 'Newly held for approval', newly_allowed: 'Newly allowed' };
function formatResult(result, format, failOn) {
    if (format === 'json')
        return `${JSON.stringify({ ...result, failure: failure(result, failOn) ?? null }, null, 2)}\n`;
    return format === 'markdown' ? markdown(result, failOn) : test_report_text(result, failOn);
}
function headline(result) {
    return `${result.policy.file} re-decided ${result.operations} recorded operation${plural(result.operations)} of ${result.sessions.length} session${plural(result.sessions.length)} (${result.sessions.map((s) => s.label).join(', ')})`;
}
function verdictLine(kind, group) {
    const ran = kind === 'newly_allowed' ? '' : `, ${group.ran} of them ran`;
    return `${TITLES[kind]}: ${group.count}${group.count ? ran : ''}`;
}
function test_report_text(result, failOn) {
    const out = [headline(result)];
    for (const s of result.skipped)
        out.push(`  skipped ${s.dir}: ${s.problem}`);
    for (const s of result.sessions)
        if (s.identity)
            out.push(`  ${s.label}: its identity would be rejected: ${s.identity}`);
    for (const kind of CHANGE_KINDS) {
        const group = result.changes[kind];
        out.push(verdictLine(kind, group));
        for (const e of group.examples)
            out.push(`  ${e.connection}: ${e.text} — ${e.from} → ${e.to}${e.rule ? ` (rule ${e.rule})` : ''}${e.count > 1 ? ` ×${e.count}` : ''} [${e.session} #${e.seq}]`);
    }
    const masks = (title, list) => {
        out.push(`${title}: ${list.length}`);
        for (const m of list)
            out.push(`  ${m.column} (${m.operations} operation${plural(m.operations)}, e.g. ${m.example})`);
    };
    masks('Masks added', result.masks.added);
    masks('Masks removed', result.masks.removed);
    if (result.undecided.count) {
        out.push(`Not re-decided: ${result.undecided.count} (the policy reads request bodies, headers or query values, which the bundle does not keep)`);
        for (const e of result.undecided.examples)
            out.push(`  ${e.connection}: ${e.text} [${e.session} #${e.seq}]`);
    }
    out.push(`Unchanged: ${result.unchanged}`);
    const failed = failure(result, failOn);
    out.push(failed ? `FAILED: ${failed}` : 'ok: nothing that ran would be refused');
    return `${out.join('\n')}\n`;
}
/** One marker line that the pull-request comment is found again by, to be updated in place. */
const COMMENT_MARKER = '<!-- govern-policy-test -->';
const cell = (s) => s.replaceAll('|', '\\|').replaceAll('`', "'").replaceAll('\n', ' ').replaceAll('<', '&lt;');
function markdown(result, failOn) {
    const failed = failure(result, failOn);
    const out = [
        COMMENT_MARKER,
        `### govern policy test: ${failed ? '❌ would refuse what ran' : '✅ nothing that ran would be refused'}`,
        '',
        `\`${cell(result.policy.file)}\` re-decided **${result.operations}** recorded operations of ${result.sessions.length} session${plural(result.sessions.length)} (${result.sessions.map((s) => s.label).join(', ')}).`,
    ];
    if (failed)
        out.push('', `**Fails:** ${cell(failed)}`);
    if (result.skipped.length)
        out.push('', '**Skipped (did not verify):**', ...result.skipped.map((s) => `- \`${cell(s.dir)}\`: ${cell(s.problem)}`));
    const rejected = result.sessions.filter((s) => s.identity);
    if (rejected.length)
        out.push('', '**Identity rejected:**', ...rejected.map((s) => `- ${s.label}: ${cell(s.identity)}`));
    out.push('', '| change | operations | of them ran |', '|---|---:|---:|');
    for (const kind of CHANGE_KINDS)
        out.push(`| ${TITLES[kind]} | ${result.changes[kind].count} | ${kind === 'newly_allowed' ? '' : result.changes[kind].ran} |`);
    out.push(`| Masks added | ${result.masks.added.length} column${plural(result.masks.added.length)} | |`, `| Masks removed | ${result.masks.removed.length} column${plural(result.masks.removed.length)} | |`, `| Unchanged | ${result.unchanged} | |`);
    for (const kind of CHANGE_KINDS) {
        const group = result.changes[kind];
        if (!group.examples.length)
            continue;
        out.push('', `<details${kind === 'newly_allowed' ? '' : ' open'}><summary>${TITLES[kind]} (first examples)</summary>`, '', '| connection | operation | was | now | rule | count | where |', '|---|---|---|---|---|---:|---|');
        for (const e of group.examples)
            out.push(`| ${cell(e.connection)} | \`${cell(e.text)}\` | ${e.from} | ${e.to} | ${cell(e.rule ?? '')} | ${e.count} | ${e.session} #${e.seq} |`);
        out.push('', '</details>');
    }
    for (const [title, list] of [['Masks added', result.masks.added], ['Masks removed', result.masks.removed]]) {
        if (list.length)
            out.push('', `**${title}:**`, ...list.map((m) => `- \`${cell(m.column)}\` (${m.operations} operation${plural(m.operations)})`));
    }
    if (result.undecided.count)
        out.push('', `${result.undecided.count} operations were not re-decided: the policy reads request bodies, headers or query values, which the bundle does not keep.`);
    return `${out.join('\n')}\n`;
}

;// CONCATENATED MODULE: ./runner-proxy/src/rollout/github.ts




/** The runs looked at per page of the workflow runs list; runs without a session artifact are passed over. */
const RUNS_PER_PAGE = 50;
/** Pages of runs read at most while looking for runs with session artifacts. */
const MAX_PAGES = 4;
async function octokit(token, apiUrl) {
    const { getOctokit } = await __webpack_require__.e(/* import() */ 351).then(__webpack_require__.bind(__webpack_require__, 61351));
    return getOctokit(token, { baseUrl: apiUrl.replace(/\/$/, '') });
}
function ownerAndName(repository) {
    const [owner, repo, extra] = repository.split('/');
    if (!owner || !repo || extra !== undefined)
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.Usage, `GITHUB_REPOSITORY must be owner/name, not "${repository}"`);
    return { owner, repo };
}
/**
 * Downloads the session artifacts of the default branch's latest completed runs (GitHub REST through
 * Octokit to find them, @actions/artifact to fetch and unpack each one) and returns their directories.
 * Nothing is trusted yet: `govern policy test` verifies every bundle before it reads it.
 */
async function downloadSessionArtifacts(o) {
    const api = await octokit(o.token, o.apiUrl);
    const { owner, repo } = ownerAndName(o.repository);
    const { data: repository } = await api.rest.repos.get({ owner, repo });
    const branch = repository.default_branch;
    const found = [];
    let runsWithSessions = 0;
    for (let page = 1; page <= MAX_PAGES && runsWithSessions < o.runs; page++) {
        const { data } = await api.rest.actions.listWorkflowRunsForRepo({ owner, repo, branch, status: 'completed', per_page: RUNS_PER_PAGE, page });
        for (const run of data.workflow_runs) {
            if (runsWithSessions >= o.runs)
                break;
            const { data: list } = await api.rest.actions.listWorkflowRunArtifacts({ owner, repo, run_id: run.id, per_page: 100 });
            const sessions = list.artifacts.filter((a) => a.name.startsWith(o.artifactPrefix) && !a.expired);
            if (sessions.length === 0)
                continue;
            runsWithSessions++;
            for (const a of sessions)
                found.push({ runId: run.id, id: a.id, name: a.name });
        }
        if (data.workflow_runs.length < RUNS_PER_PAGE)
            break;
    }
    o.log(`govern: ${found.length} session artifact${found.length === 1 ? '' : 's'} in the last ${runsWithSessions} run${runsWithSessions === 1 ? '' : 's'} of ${branch}`);
    if (found.length === 0)
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.Usage, `no run of ${o.repository}'s ${branch} branch has a session artifact (${o.artifactPrefix}*): run the pipeline under govern there first`);
    const { DefaultArtifactClient } = await Promise.all(/* import() */[__webpack_require__.e(251), __webpack_require__.e(351), __webpack_require__.e(500)]).then(__webpack_require__.bind(__webpack_require__, 97500));
    const client = new DefaultArtifactClient();
    const dirs = [];
    for (const a of found) {
        const path = (0,external_node_path_.join)(o.into, `run-${a.runId}`, a.name.replace(/[^A-Za-z0-9._-]/g, '_'));
        (0,external_node_fs_.mkdirSync)(path, { recursive: true });
        await client.downloadArtifact(a.id, { path, findBy: { token: o.token, workflowRunId: a.runId, repositoryOwner: owner, repositoryName: repo } });
        dirs.push(path);
    }
    return dirs;
}
/** The pull request the workflow runs for, from its event payload (GITHUB_EVENT_PATH). */
function pullRequestNumber(event) {
    return event?.pull_request?.number;
}
/**
 * Posts the report as the pull request's one govern comment: the comment that carries the marker is
 * edited in place, so every push to the pull request updates the same comment.
 */
async function postStickyComment(o) {
    const api = await octokit(o.token, o.apiUrl);
    const { owner, repo } = ownerAndName(o.repository);
    const comments = await api.paginate(api.rest.issues.listComments, { owner, repo, issue_number: o.pullRequest, per_page: 100 });
    const mine = comments.find((c) => c.body?.includes(COMMENT_MARKER) && c.user?.type === 'Bot');
    if (mine) {
        await api.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body: o.body });
        return { id: mine.id, updated: true };
    }
    const { data } = await api.rest.issues.createComment({ owner, repo, issue_number: o.pullRequest, body: o.body });
    return { id: data.id, updated: false };
}
/** Appends the report to the job summary (GITHUB_STEP_SUMMARY), when the job has one. */
function appendJobSummary(file, markdown) {
    if (file)
        (0,external_node_fs_.appendFileSync)(file, `${markdown}\n`);
}

;// CONCATENATED MODULE: ./runner-proxy/src/rollout/gitlab.ts





const PIPELINES_PER_PAGE = 50;
async function call(project, path, init = {}) {
    const response = await fetch(`${project.apiUrl.replace(/\/$/, '')}/projects/${encodeURIComponent(project.projectId)}${path}`, {
        method: init.method ?? 'GET',
        headers: { 'PRIVATE-TOKEN': project.token, ...(init.body !== undefined && { 'Content-Type': 'application/json' }) },
        ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
    });
    if (!response.ok && response.status !== 404)
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.Usage, `GitLab answered ${init.method ?? 'GET'} ${path} with ${response.status}: check GOVERN_GITLAB_TOKEN (a project access token with read_api and api scope)`);
    return response;
}
const json = async (project, path) => (await (await call(project, path)).json());
/**
 * Downloads the session bundles of the default branch's latest successful pipelines: for each job with
 * artifacts, its bundle's manifest and then every file the manifest lists, one file at a time through
 * the job artifacts API. Nothing is trusted yet: `govern policy test` verifies every bundle.
 */
async function downloadPipelineSessions(o) {
    const pipelines = await json(o, `/pipelines?ref=${encodeURIComponent(o.branch)}&status=success&per_page=${PIPELINES_PER_PAGE}`);
    const dirs = [];
    let withSessions = 0;
    for (const pipeline of pipelines) {
        if (withSessions >= o.pipelines)
            break;
        const jobs = await json(o, `/pipelines/${pipeline.id}/jobs?per_page=100`);
        let found = false;
        for (const job of jobs.filter((j) => j.artifacts?.some((a) => a.file_type === 'archive'))) {
            const dir = (0,external_node_path_.join)(o.into, `pipeline-${pipeline.id}`, `job-${job.id}`);
            if (await downloadBundle(o, job.id, dir)) {
                dirs.push(dir);
                found = true;
            }
        }
        if (found)
            withSessions++;
    }
    o.log(`govern: ${dirs.length} session bundle${dirs.length === 1 ? '' : 's'} in the last ${withSessions} pipeline${withSessions === 1 ? '' : 's'} of ${o.branch}`);
    if (dirs.length === 0)
        throw new errors/* GovernError */.MF(errors/* ErrorCode */.O4.Usage, `no pipeline of ${o.branch} has a session bundle in ${o.artifactPath}/: run the pipeline under govern there first`);
    return dirs;
}
/** One job's bundle; false when the job's artifacts hold none. */
async function downloadBundle(o, jobId, dir) {
    const file = async (name) => call(o, `/jobs/${jobId}/artifacts/${[...o.artifactPath.split('/'), ...name.split('/')].map(encodeURIComponent).join('/')}`);
    const manifest = await file(MANIFEST_FILE);
    if (manifest.status === 404)
        return false;
    const manifestText = await manifest.text();
    let listed = [];
    try {
        listed = Object.keys(JSON.parse(manifestText).files ?? {});
    }
    catch {
        // A manifest that is not JSON is kept as it is: verification names it.
    }
    (0,external_node_fs_.mkdirSync)(dir, { recursive: true });
    (0,external_node_fs_.writeFileSync)((0,external_node_path_.join)(dir, MANIFEST_FILE), manifestText);
    for (const name of new Set([EVENTS_FILE, ...listed])) {
        const path = (0,external_node_path_.normalize)((0,external_node_path_.join)(dir, name));
        // A manifest names files inside its bundle; one that points elsewhere is not followed.
        if (!path.startsWith(dir + external_node_path_.sep))
            continue;
        const response = await file(name);
        if (response.status === 404)
            continue;
        (0,external_node_fs_.mkdirSync)((0,external_node_path_.dirname)(path), { recursive: true });
        (0,external_node_fs_.writeFileSync)(path, Buffer.from(await response.arrayBuffer()));
    }
    return true;
}
/** Posts the report as the merge request's one govern note, edited in place on every later run. */
async function postStickyNote(project, mergeRequestIid, body) {
    const path = `/merge_requests/${encodeURIComponent(mergeRequestIid)}/notes`;
    const notes = await json(project, `${path}?per_page=100&sort=asc`);
    const mine = notes.find((n) => !n.system && n.body.includes(COMMENT_MARKER));
    if (mine) {
        await call(project, `${path}/${mine.id}`, { method: 'PUT', body: { body } });
        return { id: mine.id, updated: true };
    }
    const created = (await (await call(project, path, { method: 'POST', body: { body } })).json());
    return { id: created.id, updated: false };
}

;// CONCATENATED MODULE: ./runner-proxy/src/rollout/suggest.ts


/** Destructive statement classes: blocked on a connection whose sessions never ran one. */
const DESTRUCTIVE_SQL = ['drop', 'truncate', 'alter', 'delete_without_where', 'update_without_where', 'alter_system', 'grant', 'set_role', 'copy_program', 'dangerous_function', 'replication'];
/** HTTP methods that change things: blocked on a connection whose sessions never sent one. */
const CHANGING_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];
/** Commands that destroy: blocked on an SSH connection whose sessions never ran the program. */
const DESTRUCTIVE_SHELL = ['rm -rf', 'dd', 'mkfs', 'shred', 'shutdown', 'reboot'];
/** A column is suggested for masking when at least this share of its values matched a detector. */
const MIN_SHARE = 0.05;
const suggest_GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const q = (value) => JSON.stringify(String(value));
const suggest_list = (values) => `[${values.map(q).join(', ')}]`;
const percent = (part, whole) => `${Math.round((100 * part) / whole)}%`;
/**
 * A commented policy that lets the recorded sessions run unchanged and little else, made from bundles
 * that verified: the trust entry from the recorded identities, each connection with `${VAR}`
 * placeholders, what each connection was seen doing allowed and the destructive rest blocked, and
 * masks for the columns whose values matched a detector (or that the policy in force masked).
 */
function suggestPolicy(sessions) {
    const observed = observe(sessions);
    const operations = sessions.reduce((n, s) => n + s.events.filter((e) => e.type === 'operation').length, 0);
    const out = [
        `# Suggested by govern policy suggest from ${sessions.length} session${sessions.length === 1 ? '' : 's'} (${sessions.map(sessionLabel).join(', ')}), ${operations} operations.`,
        '# It lets those sessions run unchanged and little else. Review it, fill in the ${VAR}s in the gateway\'s',
        '# environment, run govern policy test on it against the same bundles, then enforce.',
        'version: 1',
    ];
    out.push(...identitySection(observed));
    out.push(...connectionsSection(observed));
    out.push('rules:', ...maskRule(observed));
    for (const connection of observed.connections.values())
        out.push(...connectionRules(connection));
    out.push(...proxySection(observed));
    out.push('mode: enforce');
    return `${out.join('\n')}\n`;
}
function identitySection({ identities }) {
    if (identities.length === 0)
        return ['# No session had a verified identity: add identity.trust before enforcing.'];
    const audiences = new Set(identities.flatMap(({ claims }) => [claims.aud].flat().filter((a) => a !== undefined).map(String)));
    const out = ['identity:', `  audience: ${q([...audiences][0] ?? 'govern')}`, '  trust:'];
    const byIssuer = new Map();
    for (const identity of identities)
        byIssuer.set(identity.issuer, [...(byIssuer.get(identity.issuer) ?? []), identity]);
    for (const [issuer, runs] of byIssuer) {
        out.push(`    # from ${runs.map((r) => r.label).join(', ')}`);
        out.push(`    - issuer: ${issuerName(issuer, runs[0].claims)}`, '      claims:');
        const pin = ['repository_id', 'project_id'].find((c) => runs.every((r) => r.claims[c] !== undefined)) ?? ['repository', 'project_path'].find((c) => runs.every((r) => r.claims[c] !== undefined));
        if (pin) {
            const values = [...new Set(runs.map((r) => String(r.claims[pin])))];
            out.push(`        ${pin}: ${values.length === 1 ? q(values[0]) : suggest_list(values)}${pin.endsWith('_id') ? '   # an id survives renames, a name can be registered again' : ''}`);
        }
        else {
            out.push('        # no repository or project claim was recorded: pin one before enforcing');
        }
        for (const claim of ['ref', 'event_name']) {
            const values = [...new Set(runs.map((r) => r.claims[claim]).filter((v) => v !== undefined).map(String))].sort();
            if (values.length)
                out.push(`        ${claim}: ${suggest_list(values)}`);
        }
    }
    return out;
}
function issuerName(issuer, claims) {
    if (issuer === suggest_GITHUB_ISSUER)
        return 'github';
    if (claims.project_id !== undefined && claims.pipeline_id !== undefined)
        return `${q(issuer)}   # GitLab: write gitlab for gitlab.com`;
    return q(issuer);
}
/** A `${VAR}` name for one of a connection's settings. */
const variable = (connection, what) => `\${${connection.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_${what.toUpperCase().replace(/[^A-Z0-9]/g, '_')}}`;
/** Settings that never hold a secret: a literal value of these is kept; any other literal becomes a `${VAR}`. */
const PLAIN_SETTINGS = new Set(['host', 'port', 'user', 'keepalive', 'user_ssh_config', 'env', 'max_script', 'ca', 'known_hosts']);
/**
 * A connection's settings as the policy in force wrote them, for the suggestion: `${VAR}`s kept as
 * written, literals kept only where they cannot be secret, every other literal made a `${VAR}`.
 */
function placeholders(connection, settings, path = []) {
    const out = {};
    for (const [key, value] of Object.entries(settings)) {
        const here = [...path, key];
        if (value !== null && typeof value === 'object' && !Array.isArray(value))
            out[key] = placeholders(connection, value, here);
        else if (typeof value !== 'string' || value.includes('${') || (path.length === 0 && PLAIN_SETTINGS.has(key)))
            out[key] = value;
        else
            out[key] = variable(connection, here.join('_'));
    }
    return out;
}
function connectionsSection({ connections, sessions }) {
    const inForce = new Map(sessions.flatMap((s) => s.policyInForce?.connections ?? []).map((c) => [c.name, c]));
    const out = ['connections:'];
    for (const c of connections.values()) {
        if (c.name.startsWith('proxy:') || c.name === '(proxy)' || !c.export)
            continue;
        out.push(`  ${c.name}:`, `    # ${c.seen.size ? c.seen.provenance() : 'connected, no operation recorded'}`);
        const written = inForce.get(c.name);
        if (written)
            out.push(`    ${written.protocol}: ${JSON.stringify(placeholders(c.name, written.settings))}   # as the policy in force has it`);
        else if (c.protocol === 'postgres')
            out.push(`    postgres: { url: ${q(variable(c.name, 'TARGET_URL'))} }`);
        else if (c.protocol === 'http')
            out.push(`    http: { url: ${q(variable(c.name, 'TARGET_URL'))} }   # add the headers that carry its credential, as \${VAR}s`);
        else if (c.protocol === 'ssh') {
            out.push(`    ssh: { host: ${q(variable(c.name, 'HOST'))}, user: ${q(variable(c.name, 'USER'))}, private_key: ${q(variable(c.name, 'PRIVATE_KEY'))}, known_hosts: ${q(variable(c.name, 'KNOWN_HOSTS'))} }`);
        }
        out.push(`    export: ${c.export}`);
    }
    return out;
}
/**
 * Masks for what carried values a detector recognised: one rule for PostgreSQL source columns (and the
 * columns the policy in force masked), one per HTTP connection for its JSON paths.
 */
function maskRule(observed) {
    const matching = new Map();
    for (const source of new Set(observed.sessions.flatMap((s) => Object.keys(s.discovery.sources)))) {
        const total = mergedCounts(observed.sessions, source);
        const matched = Object.entries(total.matched).filter(([, n]) => n > 0);
        if (total.seen === 0 || Math.max(0, ...matched.map(([, n]) => n)) / total.seen < MIN_SHARE)
            continue;
        matching.set(source, matched.map(([type, n]) => `${type} ${n} of ${total.seen} values (${percent(n, total.seen)})`).join(', '));
    }
    const columns = new Map([...matching].filter(([source]) => !source.includes(' ')));
    for (const column of observed.maskedColumns.keys) {
        if (![...columns.keys()].some((c) => c === column || c.endsWith(`.${column}`)))
            columns.set(column, `masked by the policy in force, ${observed.maskedColumns.provenance([column])}`);
    }
    const out = [];
    if (columns.size) {
        out.push('  - name: pii', '    # Columns whose values matched a detector in the recorded results:', ...[...columns].map(([column, why]) => `    #   ${column}: ${why}`), `    mask: { columns: ${suggest_list([...columns.keys()])} }`);
    }
    const byConnection = new Map();
    for (const [source, why] of matching) {
        const space = source.indexOf(' ');
        if (space < 0)
            continue;
        const connection = source.slice(0, space);
        byConnection.set(connection, [...(byConnection.get(connection) ?? []), [source.slice(space + 1), why]]);
    }
    for (const [connection, found] of byConnection) {
        const paths = found.filter(([path]) => path.startsWith('$'));
        const output = found.find(([what]) => what === 'output');
        const types = output ? Object.keys(mergedCounts(observed.sessions, `${connection} output`).matched).sort() : [];
        const mask = [paths.length && `json: ${suggest_list(paths.map(([path]) => path))}`, types.length && `types: ${suggest_list(types)}`].filter(Boolean).join(', ');
        out.push(`  - name: ${ruleName(connection)}-pii`, '    # Values that matched a detector in the recorded responses or output:', ...found.map(([what, why]) => `    #   ${what}: ${why}`), `    when: ${whenOf(connection)}`, `    mask: { ${mask} }`);
    }
    return out.length ? out : ['  # No column or JSON field carried values that a detector recognised.'];
}
/** A rule name made from a connection's (proxy:HOST for a host the forward proxy opened). */
const ruleName = (connection) => connection.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[^A-Za-z0-9]/, 'c');
/** The `when` that narrows a rule to a connection, or to the host the forward proxy opened. */
const whenOf = (connection) => (connection.startsWith('proxy:') ? `{ host: ${q(connection.slice('proxy:'.length))} }` : `{ connection: ${q(connection)} }`);
function mergedCounts(sessions, source) {
    const total = { seen: 0, matched: {} };
    for (const s of sessions) {
        const counts = s.discovery.sources[source];
        if (!counts)
            continue;
        total.seen += counts.seen;
        for (const [type, n] of Object.entries(counts.matched))
            total.matched[type] = (total.matched[type] ?? 0) + n;
    }
    return total;
}
function connectionRules(c) {
    const seen = c.seen.keys;
    const name = ruleName(c.name);
    const when = whenOf(c.name);
    const out = [];
    const rule = (suffix, comment, action, condition) => out.push(`  - name: ${name}-${suffix}`, `    # ${comment}`, `    when: ${when}`, `    ${action}: ${condition}`);
    if (c.protocol === 'postgres') {
        if (seen.length)
            rule('seen', `statement classes seen: ${c.seen.provenance()}`, 'allow', `{ sql: ${suggest_list(seen)} }`);
        const unseen = DESTRUCTIVE_SQL.filter((k) => !seen.includes(k));
        if (unseen.length)
            rule('never-seen', 'destructive classes no recorded session ran', 'block', `{ sql: ${suggest_list(unseen)} }`);
    }
    else if (c.protocol === 'http') {
        if (seen.length)
            rule('seen', `requests seen (ids generalised): ${c.seen.provenance()}`, 'allow', `{ http: ${suggest_list(seen)} }`);
        const methods = new Set(seen.map((k) => k.split(' ')[0]));
        const unseen = CHANGING_METHODS.filter((m) => !methods.has(m));
        if (unseen.length)
            rule('never-seen', 'methods no recorded session sent (paths beyond those seen under a seen method stay allowed)', 'block', `{ http: ${suggest_list(unseen)} }`);
    }
    else if (c.protocol === 'ssh') {
        if (seen.length)
            rule('seen', `programs seen: ${c.seen.provenance()}`, 'allow', `{ shell: ${suggest_list(seen)} }`);
        const unseen = DESTRUCTIVE_SHELL.filter((p) => !seen.includes(p.split(' ')[0]));
        if (unseen.length)
            rule('never-seen', 'destructive commands no recorded session ran', 'block', `{ shell: ${suggest_list(unseen)} }`);
    }
    return out;
}
/** The forward proxy's hosts as an egress allow-list: what was opened stays opened, what was tunnelled stays tunnelled. */
function proxySection({ proxyHosts, tunnelledHosts }) {
    if (proxyHosts.size + tunnelledHosts.size === 0)
        return [];
    const out = ['proxy:'];
    if (proxyHosts.size)
        out.push(`  # inspected: ${proxyHosts.provenance()}`, `  intercept: ${suggest_list(proxyHosts.keys)}`);
    if (tunnelledHosts.size)
        out.push(`  # tunnelled: ${tunnelledHosts.provenance()}`, `  tunnel: ${suggest_list(tunnelledHosts.keys)}`);
    out.push('  others: refuse');
    return out;
}

;// CONCATENATED MODULE: ./runner-proxy/src/cli/policy-rollout.ts













function warnSkipped(ctx, skipped) {
    for (const s of skipped)
        ctx.io.stderr.write(`govern policy: skipped ${s.dir}, it does not verify: ${s.problem}\n`);
}
/** govern policy suggest DIR… [--out FILE]: a least-privilege policy from verified bundles. */
async function policySuggestCommand(ctx) {
    const dirs = ctx.positionals.slice(1);
    if (dirs.length === 0)
        throw usage('use govern policy suggest DIR… [--out FILE]');
    const { sessions, skipped } = loadSessions(dirs);
    warnSkipped(ctx, skipped);
    const suggestion = suggestPolicy(sessions);
    // What is suggested must be a policy govern accepts; a problem here is govern's own.
    parsePolicy(String(ctx.values.out ?? 'suggested.yml'), Buffer.from(suggestion), { env: {}, resolveVariables: false, protocols: builtInProtocols() });
    if (typeof ctx.values.out === 'string') {
        (0,external_node_fs_.writeFileSync)(ctx.values.out, suggestion);
        ctx.io.stderr.write(`govern policy suggest: wrote ${ctx.values.out} from ${sessions.length} session${sessions.length === 1 ? '' : 's'}\n`);
    }
    else {
        ctx.io.stdout.write(suggestion);
    }
    return 0;
}
/** govern policy test POLICY [DIR…] [--runs N] [--comment] [--format text|markdown|json] [--fail-on …] [--out FILE]. */
async function policyTestCommand(ctx) {
    const [, file, ...dirs] = ctx.positionals;
    const runs = ctx.values.runs === undefined ? undefined : Number(ctx.values.runs);
    if (!file || (dirs.length === 0 && runs === undefined))
        throw usage('use govern policy test POLICY DIR… [--format text|markdown|json] [--fail-on LIST|never], or POLICY --runs N [--comment] in a pipeline');
    if (runs !== undefined && !(Number.isInteger(runs) && runs > 0 && runs <= 100))
        throw usage('--runs takes a number of runs from 1 to 100');
    const format = parseReportFormat(ctx.values.format);
    const failOn = parseTestFailOn(ctx.values['fail-on']);
    const policy = loadPolicy(file, { env: ctx.env, resolveVariables: false, protocols: builtInProtocols() });
    const forge = runs !== undefined || ctx.values.comment ? forgeOf(ctx) : undefined;
    if (forge && runs !== undefined) {
        const into = (0,external_node_fs_.mkdtempSync)((0,external_node_path_.join)(ctx.env.RUNNER_TEMP ?? ctx.env.CI_BUILDS_DIR ?? (0,external_node_os_.tmpdir)(), 'govern-sessions-'));
        dirs.push(...(await forge.download(runs, into)));
    }
    const { sessions, skipped } = loadSessions(dirs);
    warnSkipped(ctx, skipped);
    const result = testPolicy(policy, sessions, skipped, await parser/* SqlParser */.i.load());
    const report = formatResult(result, format, failOn);
    if (typeof ctx.values.out === 'string')
        (0,external_node_fs_.writeFileSync)(ctx.values.out, report);
    ctx.io.stdout.write(report);
    if (forge) {
        const markdown = formatResult(result, 'markdown', failOn);
        appendJobSummary(ctx.env.GITHUB_STEP_SUMMARY, markdown);
        if (ctx.values.comment)
            ctx.io.stderr.write(`govern policy test: ${await forge.comment(markdown)}\n`);
    }
    return failure(result, failOn) ? 1 : 0;
}
function forgeOf(ctx) {
    const { env } = ctx;
    const log = (line) => ctx.io.stderr.write(`${line}\n`);
    if (env.GITLAB_CI || env.CI_API_V4_URL) {
        if (!env.GOVERN_GITLAB_TOKEN || !env.CI_API_V4_URL || !env.CI_PROJECT_ID || !env.CI_DEFAULT_BRANCH) {
            throw usage('--runs and --comment in GitLab need GOVERN_GITLAB_TOKEN (a project access token with api scope), CI_API_V4_URL, CI_PROJECT_ID and CI_DEFAULT_BRANCH');
        }
        const project = { apiUrl: env.CI_API_V4_URL, projectId: env.CI_PROJECT_ID, token: env.GOVERN_GITLAB_TOKEN };
        const artifactPath = String(ctx.values['artifact-path'] ?? '.govern-session');
        return {
            download: (pipelines, into) => downloadPipelineSessions({ ...project, branch: env.CI_DEFAULT_BRANCH, pipelines, artifactPath, into, log }),
            comment: async (markdown) => {
                const iid = env.CI_MERGE_REQUEST_IID;
                if (!iid)
                    return 'not a merge request pipeline, so no note is posted';
                const posted = await postStickyNote(project, iid, markdown);
                return `${posted.updated ? 'updated' : 'posted'} the note on merge request !${iid} (note ${posted.id})`;
            },
        };
    }
    const token = env.GOVERN_GITHUB_TOKEN ?? env.GITHUB_TOKEN;
    if (!token || !env.GITHUB_REPOSITORY)
        throw usage('--runs and --comment need GITHUB_REPOSITORY and a token in GOVERN_GITHUB_TOKEN or GITHUB_TOKEN (with actions: read and pull-requests: write)');
    const github = { token, repository: env.GITHUB_REPOSITORY, apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com' };
    return {
        download: (runs, into) => downloadSessionArtifacts({ ...github, runs, artifactPrefix: String(ctx.values['artifact-prefix'] ?? 'govern-session-'), into, log }),
        comment: async (markdown) => {
            const event = env.GITHUB_EVENT_PATH ? JSON.parse((0,external_node_fs_.readFileSync)(env.GITHUB_EVENT_PATH, 'utf8')) : undefined;
            const pullRequest = pullRequestNumber(event);
            if (pullRequest === undefined)
                return 'not a pull request event, so no comment is posted';
            const posted = await postStickyComment({ ...github, pullRequest, body: markdown });
            return `${posted.updated ? 'updated' : 'posted'} the comment on pull request #${pullRequest} (comment ${posted.id})`;
        },
    };
}

// EXTERNAL MODULE: ./runner-proxy/src/masking/credentials.ts
var credentials = __webpack_require__(64880);
;// CONCATENATED MODULE: ./runner-proxy/src/cli/fail-on.ts

const FAIL_ON = ['blocked', 'denied', 'never'];
function parseFailOn(value) {
    if (!FAIL_ON.includes(value))
        throw usage(`--fail-on must be one of ${FAIL_ON.join(', ')}, not "${String(value)}"`);
    return value;
}
/** Why the run should fail although the command succeeded, if it should. */
function failOnReason(failOn, counts) {
    if (failOn === 'never')
        return undefined;
    if (failOn === 'blocked' && counts.blocked + counts.denied > 0)
        return `${counts.blocked} blocked and ${counts.denied} denied operations (--fail-on blocked)`;
    if (failOn === 'denied' && counts.denied > 0)
        return `${counts.denied} denied operations (--fail-on denied)`;
    return undefined;
}

;// CONCATENATED MODULE: ./runner-proxy/src/cli/run.ts








const quote = (arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);
async function runCommand({ values, positionals, env, io, log }) {
    if (positionals.length === 0)
        throw usage('nothing to run: put the command after --, as in govern run -- npm test');
    const failOn = parseFailOn(values['fail-on']);
    const launched = await launch({ policyPath: values.policy, outDir: values.out, tokenEnv: values['token-env'], mode: values.mode, env, log });
    const { governor } = launched.gateway;
    const [program, ...args] = positionals;
    governor.note('process.start', { command: governor.masker.maskText((0,credentials/* hideCredentials */.R)(positionals.map(quote).join(' ')), masker/* REDACT_ALL */.kZ).text });
    const started = performance.now();
    const exit = await new Promise((resolve) => {
        const child = (0,external_node_child_process_.spawn)(program, args, { stdio: 'inherit', env: jobEnvironment(env, launched.withheld, { ...launched.gateway.exports(), GOVERN_OUT: launched.gateway.outDir }) });
        // Ctrl-C reaches the command through the terminal; govern stays to finalize. Other signals are passed on.
        const ignore = () => undefined;
        const forward = (signal) => child.kill(signal);
        process.on('SIGINT', ignore);
        process.on('SIGTERM', forward);
        process.on('SIGHUP', forward);
        const done = (result) => {
            process.off('SIGINT', ignore);
            process.off('SIGTERM', forward);
            process.off('SIGHUP', forward);
            resolve(result);
        };
        child.once('error', (error) => done({ status: null, signal: null, error }));
        child.once('exit', (status, signal) => done({ status, signal }));
    });
    const durationMs = Math.round(performance.now() - started);
    governor.note('process.exit', { status: exit.status, signal: exit.signal, duration_ms: durationMs, ...(exit.error && { error: exit.error.code }) });
    const how = exit.error ? `could not start (${exit.error.code})` : exit.signal ? `ended by ${exit.signal}` : `exited with status ${exit.status}`;
    const summary = await shutdown(launched, `command ${how}`);
    io.stderr.write(summary);
    if (exit.error) {
        io.stderr.write(`govern run: cannot run "${program}": ${exit.error.code === 'ENOENT' ? 'command not found' : exit.error.message}\n`);
        return exit.error.code === 'ENOENT' ? 127 : 126;
    }
    if (exit.signal)
        return 128 + (external_node_os_.constants.signals[exit.signal] ?? 0);
    if (exit.status !== 0)
        return exit.status ?? 1;
    const reason = failOnReason(failOn, launched.gateway.governor.counts);
    if (reason) {
        io.stderr.write(`govern run: failing the run: ${reason}\n`);
        return 1;
    }
    return 0;
}

;// CONCATENATED MODULE: ./runner-proxy/src/cli/main.ts









const policy = { type: 'string', short: 'p' };
const out = { type: 'string', short: 'o', default: DEFAULT_OUT };
/** For commands that reach a running gateway: --out, else $GOVERN_OUT (exported by start), else the default. */
const gatewayOut = { type: 'string', short: 'o' };
const GATEWAY_OUT_HELP = 'DIR defaults to $GOVERN_OUT, which govern start exports, then ./govern-session';
const tokenEnv = { type: 'string' };
const mode = { type: 'string' };
const COMMANDS = {
    run: {
        summary: 'start the gateway, run a command with the rewritten env, stop, finalize',
        usage: 'govern run [--policy F] [--out DIR] [--token-env NAME] [--mode enforce|observe] [--fail-on blocked|denied|never] -- CMD [ARG…]',
        options: { policy, out, 'token-env': tokenEnv, mode, 'fail-on': { type: 'string', default: 'blocked' } },
        run: runCommand,
    },
    start: {
        summary: 'start the gateway detached and print the env to export',
        usage: 'govern start [--policy F] [--out DIR] [--token-env NAME] [--mode enforce|observe] [--env-format shell|dotenv|github]',
        options: { policy, out, 'token-env': tokenEnv, mode, 'env-format': { type: 'string', default: 'shell' } },
        run: startCommand,
    },
    serve: {
        summary: '',
        usage: 'govern serve (internal: the detached gateway that start launches)',
        options: { policy, out, 'token-env': tokenEnv, mode, 'ready-fd': { type: 'string' } },
        run: serveCommand,
    },
    stop: {
        summary: 'drain, finalize and sign the bundle, print the summary',
        usage: `govern stop [--out DIR]  (${GATEWAY_OUT_HELP})`,
        options: { out: gatewayOut },
        run: stopCommand,
    },
    status: {
        summary: 'connections, counts and pending approvals of the running gateway',
        usage: `govern status [--out DIR] [--json]  (${GATEWAY_OUT_HELP})`,
        options: { out: gatewayOut, json: { type: 'boolean' } },
        run: statusCommand,
    },
    approve: {
        summary: 'release an operation held for approval',
        usage: `govern approve ID [--reason TEXT] [--out DIR]  (${GATEWAY_OUT_HELP})`,
        options: { out: gatewayOut, reason: { type: 'string' } },
        run: (ctx) => approveCommand(ctx, 'approve'),
    },
    deny: {
        summary: 'refuse an operation held for approval',
        usage: `govern deny ID [--reason TEXT] [--out DIR]  (${GATEWAY_OUT_HELP})`,
        options: { out: gatewayOut, reason: { type: 'string' } },
        run: (ctx) => approveCommand(ctx, 'deny'),
    },
    verify: {
        summary: 'check a bundle: signature, hash chain, completeness, and the job it is bound to',
        usage: 'govern verify DIR [--key ed25519:…] [--issuer URL] [--jwks FILE] [--expect-repository NAME|ID] [--expect-workflow NAME|FILE] [--json]' +
            '  (the job binding is checked against the issuer\'s keys, GitHub\'s unless --issuer names another; --jwks checks offline)',
        options: {
            key: { type: 'string' },
            issuer: { type: 'string' },
            jwks: { type: 'string' },
            'expect-repository': { type: 'string' },
            'expect-workflow': { type: 'string' },
            json: { type: 'boolean' },
        },
        run: inspect_verifyCommand,
    },
    replay: {
        summary: 'the session as a readable timeline',
        usage: 'govern replay DIR [--connection NAME [--speed N]]  (with --connection, its terminals play at their recorded pace)',
        options: { connection: { type: 'string' }, speed: { type: 'string' } },
        run: replayCommand,
    },
    policy: {
        summary: 'check a policy file, suggest one from recorded sessions, or test one against them',
        usage: 'govern policy check F [--no-env]\n       govern policy suggest DIR… [--out FILE]\n       govern policy test F [DIR…] [--runs N [--artifact-prefix P | --artifact-path P]] [--comment] [--format text|markdown|json] [--fail-on blocked,held,allowed,unmasked,masked,identity|never] [--out FILE]',
        options: {
            'no-env': { type: 'boolean' },
            out: { type: 'string' },
            format: { type: 'string' },
            'fail-on': { type: 'string' },
            runs: { type: 'string' },
            'artifact-prefix': { type: 'string' },
            'artifact-path': { type: 'string' },
            comment: { type: 'boolean' },
        },
        run: (ctx) => (ctx.positionals[0] === 'suggest' ? policySuggestCommand(ctx) : ctx.positionals[0] === 'test' ? policyTestCommand(ctx) : policyCheckCommand(ctx)),
    },
};
function help() {
    const rows = Object.entries(COMMANDS)
        .filter(([, c]) => c.summary)
        .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
    return `govern: in-transit data governance for CI jobs\n\nUsage: govern COMMAND [options]\n\n${rows.join('\n')}\n\nRun "govern COMMAND --help" for a command's options. Add --debug for stack traces.\n`;
}
/** Runs one CLI invocation and returns its exit status: 0 ok, 1 failure, 2 usage. */
async function main(argv, env, io) {
    const debug = argv.includes('--debug');
    const args = argv.filter((a) => a !== '--debug');
    const [name, ...rest] = args;
    if (!name || name === '--help' || name === '-h' || name === 'help') {
        io.stdout.write(help());
        return name ? 0 : 2;
    }
    if (name === '--version') {
        io.stdout.write(`govern ${package_namespaceObject.rE}\n`);
        return 0;
    }
    const command = COMMANDS[name];
    if (!command) {
        io.stderr.write(`govern: unknown command "${name}"; run "govern --help" for the list\n`);
        return 2;
    }
    const helpAt = rest.indexOf('--help');
    const separatorAt = rest.indexOf('--');
    if (helpAt >= 0 && (separatorAt < 0 || helpAt < separatorAt)) {
        io.stdout.write(`Usage: ${command.usage}\n`);
        return 0;
    }
    let parsed;
    try {
        parsed = (0,external_node_util_.parseArgs)({ args: rest, options: command.options, allowPositionals: true, strict: true });
    }
    catch (e) {
        io.stderr.write(`govern ${name}: ${argumentProblem(e, name, command)}\n`);
        return 2;
    }
    if (command.options.out === gatewayOut)
        parsed.values.out ??= env.GOVERN_OUT || DEFAULT_OUT;
    const log = streamLogger(io.stderr, { timestamps: name === 'serve' });
    try {
        return await command.run({ values: parsed.values, positionals: parsed.positionals, env, io, log });
    }
    catch (e) {
        if (debug)
            io.stderr.write(`${e.stack ?? String(e)}\n`);
        if (e instanceof errors/* GovernError */.MF) {
            // Messages that already name the command (usage lines) are not prefixed twice.
            const message = e.message.startsWith(`govern ${name}`) ? e.message : `govern ${name}: ${e.message}`;
            io.stderr.write(`${message}${debug ? ` [${e.code}]` : ''}\n`);
            return e.code === errors/* ErrorCode */.O4.Usage ? 2 : 1;
        }
        io.stderr.write(`govern ${name}: unexpected failure: ${e.message} (run with --debug for details)\n`);
        return 1;
    }
}
/** One sentence for what the argument parser refused, with the closest option when one was misspelt. */
function argumentProblem(e, name, command) {
    const help = `run "govern ${name} --help" for its options`;
    const option = /'(-{1,2}[^' ]+)/.exec(e.message)?.[1];
    switch (e.code) {
        case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
            const known = Object.keys(command.options).map((o) => `--${o}`);
            const close = option && main_closest(option.replace(/=.*$/, ''), known);
            return `unknown option ${option ?? ''}${close ? `; did you mean ${close}?` : `; ${help}`}`;
        }
        case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
            return `${option ?? 'an option'} ${/argument missing/.test(e.message) ? 'needs a value' : 'takes no value'}; ${help}`;
        case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
            return `takes no arguments besides its options; ${help}`;
        default:
            return `${e.message.split('\n')[0]}; ${help}`;
    }
}
/** The candidate within two edits (or a third of its length) of what was typed, if any. */
function main_closest(typed, candidates) {
    let best;
    for (const candidate of candidates) {
        const distance = main_editDistance(typed, candidate);
        if (distance <= Math.max(2, Math.floor(candidate.length / 3)) && (!best || distance < best.distance))
            best = { candidate, distance };
    }
    return best?.candidate;
}
function main_editDistance(a, b) {
    let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++)
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
    }
    return previous[b.length];
}


/***/ }),

/***/ 19633:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   QH: () => (/* binding */ requestMatcher),
/* harmony export */   Xb: () => (/* binding */ isPerRequest),
/* harmony export */   fY: () => (/* binding */ queryParameters),
/* harmony export */   kZ: () => (/* binding */ pathMatcher),
/* harmony export */   uI: () => (/* binding */ decodeFormComponent)
/* harmony export */ });
/* harmony import */ var _base_glob_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(56997);

const anyGlob = (globs, separator) => {
    const matchers = globs.map((g) => (0,_base_glob_js__WEBPACK_IMPORTED_MODULE_0__/* .globMatcher */ .fU)(g, { separator }));
    return (value) => matchers.some((m) => m(value));
};
/**
 * A matcher for the request's path. Where the connection does not say whether its target routes with
 * case, what refuses, holds or masks matches without case (`/Admin` is `/admin` to a target that may
 * not tell them apart) and what allows matches with it (`exactCase`): either way, unsure, it errs on
 * the side of refusing. A target declared case-insensitive is matched without case by every rule.
 */
function pathMatcher(globs, exactCase) {
    const exact = anyGlob(globs, '/');
    const folded = anyGlob(globs.map((g) => g.toLowerCase()), '/');
    return (op) => {
        if (op.path === undefined)
            return false;
        const fold = op.pathCase === 'insensitive' || (!exactCase && op.pathCase === undefined);
        return fold ? folded(op.path.toLowerCase()) : exact(op.path);
    };
}
/** Whether some value the job sent under `name` (lower case) matches. */
function headerMatches(headers, name, matches) {
    if (!headers)
        return false;
    for (let i = 0; i < headers.length; i += 2)
        if (headers[i].toLowerCase() === name && matches(headers[i + 1]))
            return true;
    return false;
}
/** One name or value of a form or query string, decoded; a malformed escape stays as it was rather than hiding it. */
function decodeFormComponent(s) {
    try {
        return decodeURIComponent(s.replaceAll('+', ' '));
    }
    catch {
        return s;
    }
}
/** The query's parameters, decoded. */
function queryParameters(query) {
    const decode = decodeFormComponent;
    return query
        .split('&')
        .filter(Boolean)
        .map((pair) => {
        const eq = pair.indexOf('=');
        return eq < 0 ? [decode(pair), ''] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
    });
}
/**
 * A matcher for an HTTP request pattern: every key given must match, a list means any of. Paths match
 * as `pathMatcher` says; header names compare without case; a repeated header or query parameter matches when any of its values does (the
 * target may read any of them).
 */
function requestMatcher(pattern, exactCase = false) {
    const checks = [];
    if (pattern.host) {
        const host = anyGlob(pattern.host, '.');
        checks.push((op) => op.host !== undefined && host(op.host));
    }
    if (pattern.method) {
        const methods = new Set(pattern.method);
        checks.push((op) => op.method !== undefined && methods.has(op.method));
    }
    if (pattern.path)
        checks.push(pathMatcher(pattern.path, exactCase));
    for (const [name, values] of Object.entries(pattern.headers ?? {})) {
        const value = anyGlob(values, '/');
        checks.push((op) => headerMatches(op.headers, name, value));
    }
    const query = Object.entries(pattern.query ?? {}).map(([name, values]) => [name, anyGlob(values, '/')]);
    if (query.length) {
        checks.push((op) => {
            if (op.query === undefined)
                return false;
            const parameters = queryParameters(op.query);
            return query.every(([name, value]) => parameters.some(([n, v]) => n === name && value(v)));
        });
    }
    return (op) => op.protocol === 'http' && checks.every((check) => check(op));
}
/** Whether a pattern looks at more than the connection, so its rule is decided per request. */
function isPerRequest(pattern) {
    return Boolean(pattern.host || pattern.method || pattern.path || pattern.headers || pattern.query);
}


/***/ }),

/***/ 52686:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   N: () => (/* binding */ EMPTY_MASK_PLAN),
/* harmony export */   f: () => (/* binding */ RuleEngine)
/* harmony export */ });
/* harmony import */ var _base_glob_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(56997);
/* harmony import */ var _http_match_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(19633);
/* harmony import */ var _base_json_select_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(39222);



const UNKNOWN = 'unknown';
const anyOf = (matchers) => (op) => matchers.some((m) => m(op));
/** The condition's protocol keys, each with its declaration and whom its matchers see. */
function keysOf(condition, protocols, allows) {
    return Object.entries(condition)
        .filter(([key]) => key !== 'json')
        .map(([key, value]) => {
        const entry = protocols.conditions.get(key);
        return { value, condition: entry.condition, scope: { protocols: entry.protocols, allows } };
    });
}
function jsonMatcher(json) {
    const compiled = (0,_base_json_select_js__WEBPACK_IMPORTED_MODULE_0__/* .compileCondition */ .vs)(json);
    return (op) => op.json !== undefined && (0,_base_json_select_js__WEBPACK_IMPORTED_MODULE_0__/* .evaluateCondition */ .F9)(compiled, op.json);
}
/**
 * What an allow-list covers and what it lists, as the keys it lists say (a command line, a request);
 * the json condition lists a request too.
 */
function allowListOf(condition, protocols, verdict) {
    const lists = keysOf(condition, protocols, true).map(({ value, condition: key, scope }) => key.allowList.compile(value, scope));
    const json = condition.json !== undefined ? jsonMatcher(condition.json) : () => false;
    return {
        verdict,
        covers: (op) => lists.some((l) => l.covers(op)),
        lists: (op) => lists.some((l) => l.covers(op) && (l.lists(op) || json(op))),
    };
}
function conditionMatcher(condition, protocols, allows) {
    const matchers = keysOf(condition, protocols, allows).map(({ value, condition: key, scope }) => key.matcher(value, scope));
    if (condition.json !== undefined)
        matchers.push(jsonMatcher(condition.json));
    return anyOf(matchers);
}
function whenMatcher(when) {
    if (!when)
        return () => true;
    const connections = when.connection && new Set(when.connection);
    const request = (0,_http_match_js__WEBPACK_IMPORTED_MODULE_1__/* .isPerRequest */ .Xb)(when) ? (0,_http_match_js__WEBPACK_IMPORTED_MODULE_1__/* .requestMatcher */ .QH)(when) : undefined;
    return (op) => (!connections || connections.has(op.connection)) && (!request || request(op));
}
function compileRule(spec, protocols) {
    const condition = spec.condition ?? {};
    const lists = Object.values(condition).filter((v) => Array.isArray(v));
    const rule = {
        name: spec.name,
        action: spec.action,
        applies: whenMatcher(spec.when),
        matches: spec.condition ? conditionMatcher(spec.condition, protocols, spec.action === 'allow') : () => false,
        namedClasses: new Set(Object.entries(condition).flatMap(([key, value]) => (protocols.conditions.get(key)?.condition.namesClasses ? value : []))),
        coversUnknown: lists.some((l) => l.includes(UNKNOWN)),
        perRequest: spec.when !== undefined && (0,_http_match_js__WEBPACK_IMPORTED_MODULE_1__/* .isPerRequest */ .Xb)(spec.when),
        readsJson: spec.condition?.json !== undefined,
    };
    if (spec.others && spec.condition)
        rule.allowList = allowListOf(spec.condition, protocols, spec.others === 'refuse' ? 'block' : 'approve');
    if (spec.mask) {
        const { strategy } = spec.mask;
        rule.mask = {
            columns: spec.mask.columns.map((pattern) => {
                const [table, column] = splitColumn(pattern);
                const t = (0,_base_glob_js__WEBPACK_IMPORTED_MODULE_2__/* .globMatcher */ .fU)(table, { separator: '.' });
                const c = (0,_base_glob_js__WEBPACK_IMPORTED_MODULE_2__/* .globMatcher */ .fU)(column, { separator: '.' });
                return {
                    matches: (tn, cn) => t(tn) && c(cn),
                    matchesColumn: c,
                    matchesTable: t,
                    strategy,
                    rule: spec.name,
                    ...(spec.mask.predicates && { predicates: spec.mask.predicates }),
                };
            }),
            types: [...spec.mask.types],
            json: spec.mask.json.map((s) => ({ selector: (0,_base_json_select_js__WEBPACK_IMPORTED_MODULE_0__/* .compileSelector */ .xN)(s), strategy, rule: spec.name })),
            headers: spec.mask.headers,
            on: spec.mask.on,
            strategy,
        };
    }
    return rule;
}
/** "schema.users.ssn" names table "schema.users" and column "ssn". */
function splitColumn(pattern) {
    const dot = pattern.lastIndexOf('.');
    return [pattern.slice(0, dot), pattern.slice(dot + 1)];
}
const NO_REQUEST_MASKS = Object.freeze({ json: [], detectors: new Map(), headers: new Map(), rules: [] });
const EMPTY_MASK_PLAN = Object.freeze({ columns: [], writeColumns: [], detectors: new Map(), json: [], headers: new Map(), write: NO_REQUEST_MASKS, rules: [] });
/**
 * The rule engine: block beats approve beats allow, masks from every matching rule accumulate.
 * Built once per run from the validated policy.
 */
class RuleEngine {
    #rules;
    #maskRules;
    #allowLists;
    #observe;
    /** Classes no operation may have unless a rule allows them explicitly: the protocols' safe defaults. */
    #refusedUnlessAllowed;
    #planCache = new Map();
    #plansPerRequest;
    /** Whether some mask rule rewrites what goes to a target beyond PostgreSQL columns (HTTP requests). */
    masksRequests;
    /**
     * Decisions by classification: adapters cache classifications by statement shape, so the same class
     * set comes back for every statement of that shape. Only for operations whose decision depends on
     * nothing but their classes, connection and write flag (no method, path or body).
     */
    #decisions = new WeakMap();
    constructor(policy) {
        this.#rules = policy.rules.map((r) => compileRule(r, policy.protocols));
        this.#refusedUnlessAllowed = policy.protocols.refusedUnlessAllowed;
        this.#maskRules = this.#rules.filter((r) => r.mask);
        this.#allowLists = this.#rules.filter((r) => r.allowList);
        this.#observe = policy.mode === 'observe';
        this.#plansPerRequest = this.#maskRules.some((r) => r.perRequest);
        this.masksRequests = this.#maskRules.some((r) => r.mask.on === 'write' && r.mask.json.length + r.mask.types.length + r.mask.headers.length > 0);
    }
    /** Whether deciding this operation needs its JSON body: some rule that applies to it has a json condition. */
    needsJson(op) {
        return this.#rules.some((r) => r.readsJson && r.applies(op));
    }
    evaluate(op, principal) {
        const cacheable = op.method === undefined && op.path === undefined && op.json === undefined && op.commands === undefined;
        if (!cacheable)
            return this.#evaluate(op, principal);
        let byConnection = this.#decisions.get(op.classes);
        if (!byConnection)
            this.#decisions.set(op.classes, (byConnection = new Map()));
        let byFlags = byConnection.get(op.connection);
        if (!byFlags)
            byConnection.set(op.connection, (byFlags = []));
        // No key is made per statement: the write flag and the identity's read-only flag pick one of four.
        return (byFlags[(op.writes ? 1 : 0) + (principal.readOnly ? 2 : 0)] ??= this.#evaluate(op, principal));
    }
    #evaluate(op, principal) {
        const masks = this.maskPlan(op);
        const policyDecision = this.#policyDecision(op, principal);
        // Built field by field, not spread: every HTTP request is decided afresh, and spreading is slow.
        const decision = { verdict: this.#observe ? 'allow' : policyDecision.verdict, policyVerdict: policyDecision.verdict, reason: policyDecision.reason, masks };
        if (policyDecision.rule !== undefined)
            decision.rule = policyDecision.rule;
        return decision;
    }
    #policyDecision(op, principal) {
        const applicable = this.#rules.filter((r) => r.action !== 'mask' && r.applies(op) && r.matches(op));
        const first = (action) => applicable.find((r) => r.action === action);
        const block = first('block');
        if (block) {
            const matched = [...op.classes].filter((c) => block.namedClasses.has(c));
            return { verdict: 'block', rule: block.name, reason: `blocked by rule "${block.name}"${matched.length ? ` (class ${matched.join(', ')})` : ''}` };
        }
        const unlisted = this.#allowLists.filter((r) => r.applies(op) && r.allowList.covers(op) && !r.allowList.lists(op));
        const refusedBy = unlisted.find((r) => r.allowList.verdict === 'block');
        if (refusedBy)
            return { verdict: 'block', rule: refusedBy.name, reason: `refused by rule "${refusedBy.name}": not on its allow-list` };
        if (op.writes && principal.readOnly) {
            return { verdict: 'block', rule: 'read-only-identity', reason: `blocked: ${principal.readOnlyReason ?? 'this identity may only read'}` };
        }
        const refused = [...op.classes].find((c) => this.#refusedUnlessAllowed.has(c) && !applicable.some((r) => r.action === 'allow' && r.namedClasses.has(c)));
        if (refused) {
            return { verdict: 'block', rule: `default-${refused}`, reason: `blocked: ${refused.replaceAll('_', ' ')} is refused unless a rule allows it` };
        }
        const approve = first('approve') ?? unlisted[0];
        if (approve)
            return { verdict: 'approve', rule: approve.name, reason: `held for approval by rule "${approve.name}"` };
        if (op.classes.has(UNKNOWN) && !applicable.some((r) => r.coversUnknown)) {
            return { verdict: 'approve', rule: 'default-unknown', reason: 'held for approval: its effect cannot be known before it runs, and no rule covers unknown' };
        }
        return { verdict: 'allow', reason: 'allowed' };
    }
    /** The masks for an operation; cached per connection unless a mask rule looks at method or path. */
    maskPlan(op) {
        if (this.#maskRules.length === 0)
            return EMPTY_MASK_PLAN;
        if (this.#plansPerRequest)
            return this.#buildPlan(op);
        let plan = this.#planCache.get(op.connection);
        if (!plan)
            this.#planCache.set(op.connection, (plan = this.#buildPlan(op)));
        return plan;
    }
    #buildPlan(op) {
        const columns = [];
        const writeColumns = [];
        const detectors = new Map();
        const json = [];
        const headers = new Map();
        const rules = [];
        const write = { json: [], detectors: new Map(), headers: new Map(), rules: [] };
        const addTo = (side, mask) => {
            side.json.push(...mask.json);
            for (const h of mask.headers)
                if (!side.headers.has(h))
                    side.headers.set(h, { strategy: mask.strategy, whole: mask.types.length === 0 });
            for (const t of mask.types)
                if (!side.detectors.has(t))
                    side.detectors.set(t, mask.strategy);
        };
        for (const rule of this.#maskRules) {
            if (!rule.applies(op))
                continue;
            const mask = rule.mask;
            rules.push(rule.name);
            if (mask.on === 'write') {
                writeColumns.push(...mask.columns);
                addTo(write, mask);
                if (mask.json.length + mask.types.length > 0)
                    write.rules.push(rule.name);
                continue;
            }
            columns.push(...mask.columns);
            addTo({ json, detectors, headers }, mask);
        }
        const requestMasks = write.rules.length + write.headers.size > 0 ? write : NO_REQUEST_MASKS;
        return rules.length ? { columns, writeColumns, detectors, json, headers, write: requestMasks, rules } : EMPTY_MASK_PLAN;
    }
}


/***/ }),

/***/ 64880:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   R: () => (/* binding */ hideCredentials)
/* harmony export */ });
/**
 * Credentials written into text the gateway records (a command line, a statement): a password in a
 * URL (postgres://u:p@h/db) or in a key=value connection string (password=p), and shell assignments to
 * variables named like secrets (PGPASSWORD=p). Names and users stay; the secret is replaced.
 */
// Every repetition that can start anywhere is bounded, so a multi-megabyte statement stays linear.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@'"]{1,256}):[^\s@/'"]{1,256}@/gi;
const KEY_VALUE_PASSWORD = /\b(password|passwd|pwd)\s{0,8}=\s{0,8}('[^']{0,256}'|"[^"]{0,256}"|[^\s'";]{1,256})/gi;
const SECRET_ASSIGNMENT = /\b([A-Z][A-Z0-9_]{0,63}(?:PASSWORD|SECRET|TOKEN|_KEY))=('[^']{0,256}'|"[^"]{0,256}"|[^\s'"]{1,256})/g;
/** What every pattern above needs somewhere in the text: one quick scan spares the three for most statements. */
const MAYBE_CREDENTIAL = /:\/\/|pass|pwd|secret|token|_key/i;
function hideCredentials(text) {
    if (!MAYBE_CREDENTIAL.test(text))
        return text;
    return text
        .replace(URL_PASSWORD, '$1:[masked]@')
        .replace(KEY_VALUE_PASSWORD, '$1=[masked]')
        .replace(SECRET_ASSIGNMENT, '$1=[masked]');
}


/***/ }),

/***/ 67597:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   BV: () => (/* binding */ mayHold),
/* harmony export */   Cb: () => (/* binding */ openValueStart),
/* harmony export */   gJ: () => (/* binding */ detectorGate),
/* harmony export */   o0: () => (/* binding */ detect),
/* harmony export */   tW: () => (/* binding */ DETECTOR_TYPES)
/* harmony export */ });
/* unused harmony exports luhnValid, ibanValid, MAX_HELD_VALUE */
function statsOf(text) {
    let digits = 0;
    let at = false;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c >= 48 && c <= 57)
            digits++;
        else if (c === 64)
            at = true;
        // Past this every quick test passes: counting further changes nothing.
        if (at && digits >= 12)
            break;
    }
    return { digits, at, length: text.length };
}
function holds(needs, stats) {
    return (!needs.at || stats.at) && stats.digits >= (needs.digits ?? 0) && stats.length >= (needs.length ?? 0);
}
/**
 * A scan by regular expression. `group` is the capture group holding the sensitive part: 0 for the
 * whole match, -1 for whichever alternative's group matched.
 */
function byPattern(pattern, group = 0) {
    return (text, found) => {
        pattern.lastIndex = 0;
        for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
            const index = group >= 0 ? group : m.findIndex((g, i) => i > 0 && g !== undefined);
            const value = m[index];
            const start = index === 0 ? m.index : m.index + m[0].indexOf(value);
            found(start, start + value.length);
        }
    };
}
const isAlnum = (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isLetter = (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
// . _ % + -
const isLocalChar = (c) => isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
const isDomainChar = (c) => isAlnum(c) || c === 46 || c === 45;
/**
 * Emails are found from each '@' outwards, which stays linear where a pattern anchored on the local
 * part would retry at every letter of the text.
 */
function scanEmails(text, found) {
    let last = 0;
    for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
        let start = at;
        while (start > last && at - start < 64 && isLocalChar(text.charCodeAt(start - 1)))
            start--;
        while (start < at && !isAlnum(text.charCodeAt(start)))
            start++;
        let end = at + 1;
        let lastDot = -1;
        while (end < text.length && end - at < 255 && isDomainChar(text.charCodeAt(end))) {
            if (text.charCodeAt(end) === 46)
                lastDot = end;
            end++;
        }
        while (end > at + 1 && !isLetter(text.charCodeAt(end - 1)))
            end--;
        if (start === at || lastDot < 0 || lastDot >= end)
            continue;
        const tld = end - lastDot - 1;
        if (tld < 2 || tld > 24 || !isAlnum(text.charCodeAt(at + 1)) || text.slice(at + 1, end).includes('..'))
            continue;
        let letters = true;
        for (let i = lastDot + 1; i < end && letters; i++)
            letters = isLetter(text.charCodeAt(i));
        if (!letters)
            continue;
        found(start, end);
        last = end;
    }
}
function luhnValid(digits) {
    let sum = 0;
    for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
        let d = digits.charCodeAt(i) - 48;
        if (double && (d *= 2) > 9)
            d -= 9;
        sum += d;
    }
    return sum % 10 === 0;
}
/** Issuer prefixes of the card networks, so a Luhn-valid timestamp or id is not taken for a card. */
function knownCardIssuer(digits) {
    const n = digits.length;
    const p2 = Number(digits.slice(0, 2));
    const p3 = Number(digits.slice(0, 3));
    const p4 = Number(digits.slice(0, 4));
    const p6 = Number(digits.slice(0, 6));
    if (digits[0] === '4')
        return n === 13 || n === 16 || n === 19; // Visa
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
        return n === 16; // Mastercard
    if (p2 === 34 || p2 === 37)
        return n === 15; // American Express
    if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925))
        return n >= 16; // Discover
    if (p4 >= 3528 && p4 <= 3589)
        return n >= 16; // JCB
    if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39)
        return n >= 14; // Diners Club
    if (p2 === 62)
        return n >= 16; // UnionPay
    if (p2 === 50 || (p2 >= 56 && p2 <= 69))
        return n >= 12; // Maestro
    return false;
}
function cardValid(match) {
    const digits = match.replace(/[ -]/g, '');
    if (digits.length < 13 || digits.length > 19)
        return false;
    // Separators must be consistent: "4111 1111 1111 1111" or "4111-1111-…", not a date-time run.
    if (/ /.test(match) && /-/.test(match))
        return false;
    return knownCardIssuer(digits) && luhnValid(digits);
}
/** SSA rules: no area 000, 666 or 900–999, no group 00, no serial 0000, and the famous advertising numbers. */
function ssnValid(match) {
    const [area, group, serial] = match.split('-');
    if (area === '000' || area === '666' || area[0] === '9')
        return false;
    if (group === '00' || serial === '0000')
        return false;
    return match !== '078-05-1120' && match !== '219-09-9999' && match !== '123-45-6789';
}
const IBAN_LENGTHS = {
    AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28,
    CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18,
    GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32,
    LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24,
    PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28,
    TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
};
function ibanValid(match) {
    const iban = match.replace(/ /g, '');
    if (IBAN_LENGTHS[iban.slice(0, 2)] !== iban.length)
        return false;
    const rearranged = iban.slice(4) + iban.slice(0, 4);
    let remainder = 0;
    for (const ch of rearranged) {
        const code = ch.charCodeAt(0);
        const value = code >= 65 ? String(code - 55) : ch;
        for (const d of value)
            remainder = (remainder * 10 + (d.charCodeAt(0) - 48)) % 97;
    }
    return remainder === 1;
}
function phoneValid(match) {
    const digits = match.replace(/\D/g, '').length;
    return digits >= 10 && digits <= 15;
}
const always = () => true;
const DETECTORS = [
    {
        type: 'private_key',
        needs: {},
        mayContain: (t) => t.includes('PRIVATE KEY'),
        // An unterminated block (a cut-off chunk) is masked to the end: better too much than a key fragment.
        scan: byPattern(/-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END \1PRIVATE KEY(?: BLOCK)?-----|$)/g),
        valid: always,
        tail: /-{1,5}[A-Z0-9 ]*$/,
    },
    {
        type: 'bearer_token',
        needs: {},
        mayContain: (t) => /Bearer|eyJ|gh[pousr]_|github_pat_|glpat-/.test(t),
        scan: byPattern(
        // A token starts where no token character precedes it, so a long run is tried once, not at every '-'.
        /\bBearer\s+([A-Za-z0-9\-._~+/]{8,}=*)|(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,})|(?<![A-Za-z0-9_-])((?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}|glpat-[A-Za-z0-9_-]{20,}))/g, -1),
        valid: always,
        tail: /(?:\bBearer\s+[A-Za-z0-9\-._~+/]*=*|[A-Za-z0-9_.-]+)$/,
    },
    {
        type: 'aws_key',
        needs: {},
        mayContain: (t) => /A[KSGIRNP][IPSDONV]A|aws_secret|secret_access_key/i.test(t),
        scan: byPattern(/\b((?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16})\b|(?:aws_secret_access_key|secret_access_key|SecretAccessKey)["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi, -1),
        valid: always,
        tail: /(?:(?:aws_secret_access_key|secret_access_key|SecretAccessKey)["']?\s*(?:[:=]\s*["']?[A-Za-z0-9/+]*)?|[A-Za-z0-9_/+]+)$/i,
    },
    {
        type: 'email',
        needs: { at: true },
        scan: scanEmails,
        valid: always,
        tail: /[A-Za-z0-9][A-Za-z0-9._%+-]*(?:@[A-Za-z0-9.-]*)?$/,
    },
    {
        type: 'iban',
        needs: { digits: 8, length: 15 },
        scan: byPattern(/(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])/g),
        valid: ibanValid,
        tail: /(?:[A-Z]{1,2}|[A-Z]{2}\d{1,2}[A-Z0-9 ]*)$/,
    },
    {
        type: 'credit_card',
        needs: { digits: 12 },
        // Not inside a longer token (a UUID's digits, a hex id): letters around the digits rule it out.
        scan: byPattern(/(?<![A-Za-z0-9.-])\d(?:[ -]?\d){12,18}(?![A-Za-z0-9-]|\.\d)/g),
        valid: cardValid,
        tail: /\d(?:[ -]?\d)*[ -]?$/,
    },
    {
        type: 'us_ssn',
        needs: { digits: 9 },
        scan: byPattern(/(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])/g),
        valid: ssnValid,
        tail: /\d[\d-]*$/,
    },
    {
        type: 'phone',
        needs: { digits: 10 },
        // International numbers with a leading +, and North American numbers written with separators.
        scan: byPattern(/(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\d-])|(?<![\w-])\(?[2-9]\d{2}\)?[ .-][2-9]\d{2}[ .-]\d{4}(?![\d-])/g),
        valid: phoneValid,
        tail: /(?:[+(]|[+(]?\d[\d .()-]*)$/,
    },
];
const DETECTOR_TYPES = DETECTORS.map((d) => d.type);
function detectorGate(types) {
    const gate = { always: false, at: false, digits: Infinity };
    for (const { type, needs } of DETECTORS) {
        if (!types.has(type))
            continue;
        if (needs.at)
            gate.at = true;
        else if (needs.digits !== undefined)
            gate.digits = Math.min(gate.digits, needs.digits);
        else
            gate.always = true;
    }
    return gate;
}
/**
 * Whether raw UTF-8 bytes could hold a finding, judged from their counts alone: most cells of a result
 * hold none, and then need not be decoded at all. Runs for every cell, so it stops as soon as it can.
 */
function mayHold(bytes, start, end, gate) {
    if (gate.always)
        return true;
    let digits = 0;
    for (let i = start; i < end; i++) {
        const c = bytes[i];
        if (c >= 48 && c <= 57) {
            if (++digits >= gate.digits)
                return true;
        }
        else if (c === 64 && gate.at)
            return true;
    }
    return false;
}
/** Values longer than this are not held back whole: a stream holds at most this much for one value. */
const MAX_HELD_VALUE = 1024;
/**
 * Where the end of a text that could still begin a sensitive value of the given types starts (the
 * text's length when none could): a stream masks and sends what comes before and holds the rest, so a
 * value written in pieces is masked however long the pause between them.
 */
function openValueStart(text, types) {
    const from = Math.max(0, text.length - MAX_HELD_VALUE);
    const window = text.slice(from);
    let start = window.length;
    for (const detector of DETECTORS) {
        if (!types.has(detector.type))
            continue;
        const m = detector.tail.exec(window);
        if (m && m[0].length > 0)
            start = Math.min(start, m.index);
    }
    return from + start;
}
/**
 * Finds every sensitive value of the given types. Earlier detectors win where findings overlap, so a
 * private key's base64 is one finding, not many.
 */
function detect(text, types) {
    let findings;
    const stats = statsOf(text);
    for (const detector of DETECTORS) {
        if (!types.has(detector.type) || !holds(detector.needs, stats) || (detector.mayContain && !detector.mayContain(text)))
            continue;
        detector.scan(text, (start, end) => {
            if (!detector.valid(text.slice(start, end)))
                return;
            findings ??= [];
            if (!findings.some((f) => f.start < end && start < f.end))
                findings.push({ type: detector.type, start, end });
        });
    }
    return findings ? findings.sort((a, b) => a.start - b.start) : [];
}


/***/ }),

/***/ 27171:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   GX: () => (/* binding */ Masker),
/* harmony export */   XF: () => (/* binding */ REDACTED),
/* harmony export */   kZ: () => (/* binding */ REDACT_ALL)
/* harmony export */ });
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(77598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _detectors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(67597);


/** What a redacted value becomes (a detector's finding names its type as well). */
const REDACTED = '[masked]';
/**
 * Applies a strategy to sensitive values. The hash strategy is keyed by a salt made fresh for each run,
 * so equal values stay joinable within one session's output but cannot be looked up across runs.
 */
class Masker {
    #salt;
    constructor(salt = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.randomBytes)(32)) {
        this.#salt = salt;
    }
    /** Replaces every finding of the planned types in free text, each with its type's strategy. */
    maskText(text, plan) {
        if (plan.size === 0)
            return { text, count: 0 };
        const findings = (0,_detectors_js__WEBPACK_IMPORTED_MODULE_1__/* .detect */ .o0)(text, plan);
        if (findings.length === 0)
            return { text, count: 0 };
        let out = '';
        let last = 0;
        const byType = {};
        for (const f of findings) {
            out += text.slice(last, f.start) + this.maskValue(text.slice(f.start, f.end), plan.get(f.type), f.type);
            last = f.end;
            byType[f.type] = (byType[f.type] ?? 0) + 1;
        }
        return { text: out + text.slice(last), count: findings.length, byType };
    }
    /** The masked form of one whole value: a column's cell, a JSON field, or a detector's finding. */
    maskValue(value, strategy, type) {
        switch (strategy) {
            case 'hash':
                return `hash:${(0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.createHmac)('sha256', this.#salt).update(value).digest('hex').slice(0, 16)}`;
            case 'partial':
                return partial(value, type);
            case 'redact':
                return type ? `[masked:${type}]` : REDACTED;
        }
    }
}
/** Keeps what people use to recognise a value (the last digits, the domain) and hides the rest. */
function partial(value, type) {
    switch (type) {
        case 'email': {
            const at = value.lastIndexOf('@');
            return `${value[0]}***${value.slice(at)}`;
        }
        case 'credit_card':
        case 'us_ssn':
        case 'phone':
        case 'iban':
        case undefined:
            return keepLast(value, 4);
        default:
            // Secrets have no harmless part.
            return `[masked:${type}]`;
    }
}
function keepLast(value, keep) {
    let kept = 0;
    const chars = [...value];
    for (let i = chars.length - 1; i >= 0; i--) {
        if (!/[A-Za-z0-9]/.test(chars[i]))
            continue;
        if (kept < keep)
            kept++;
        else
            chars[i] = '*';
    }
    // A value too short to keep anything of is hidden whole.
    return chars.length <= keep ? '*'.repeat(chars.length) : chars.join('');
}
/** Every detector with the redact strategy: for text that no rule covers but must never leak (command lines). */
const REDACT_ALL = new Map(_detectors_js__WEBPACK_IMPORTED_MODULE_1__/* .DETECTOR_TYPES */ .tW.map((t) => [t, 'redact']));


/***/ })

};
