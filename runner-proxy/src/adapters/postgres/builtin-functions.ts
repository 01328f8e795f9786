/**
 * What a call to a function does, from the facts of PostgreSQL's own catalog about its built-in
 * functions (`pg_catalog`): PostgreSQL 15's lists, and some later versions' non-volatile names. Made by
 *   SELECT DISTINCT lower(proname) FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace AND provolatile = 'v'
 * and, for the second list, the `pg_%`/`lo%` names none of whose forms is volatile. The test
 * `pg-guardrail-classes.test.ts` checks every built-in of the server it runs against, so a drift shows.
 */

/** Built-ins with a volatile form: they may change something, so each is dangerous unless reviewed. */
const VOLATILE_BUILTINS: ReadonlySet<string> = new Set(
  `
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
`.split(/\s+/).filter(Boolean),
);

/**
 * Built-ins named `pg_…` or `lo…` none of whose forms is volatile (PostgreSQL 16–18's that read only
 * at the end). A `pg_`/`lo_` name in neither list is taken for a newer server's volatile built-in.
 */
const NON_VOLATILE_SYSTEM_FUNCTIONS: ReadonlySet<string> = new Set(
  `
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
`.split(/\s+/).filter(Boolean),
);

/**
 * Volatile built-ins reviewed for what they do, with the classes that says (none: they only read).
 * Every other volatile built-in is `dangerous_function`: writing server files or large objects,
 * listing server directories, stopping backends, replication, statistics resets.
 */
export const REVIEWED_VOLATILE: ReadonlyMap<string, readonly string[]> = new Map([
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
    .map((name): [string, readonly string[]] => [name, []]),
  // Advisory locks only take a lock, as LOCK does.
  ...`pg_advisory_lock pg_advisory_lock_shared pg_advisory_xact_lock pg_advisory_xact_lock_shared pg_try_advisory_lock
    pg_try_advisory_lock_shared pg_try_advisory_xact_lock pg_try_advisory_xact_lock_shared`
    .split(/\s+/)
    .filter(Boolean)
    .map((name): [string, readonly string[]] => [name, ['lock', 'write']]),
  ['nextval', ['write']],
  ['setval', ['write']],
  ['setseed', ['session']],
  ['pg_notify', ['notify']],
  // Classified by its arguments (see settingClasses).
  ['set_config', []],
  ...['query_to_xml', 'query_to_xml_and_xmlschema', 'query_to_xmlschema', 'cursor_to_xml', 'cursor_to_xmlschema', 'ts_stat', 'ts_rewrite'].map(
    (name): [string, readonly string[]] => [name, ['unknown', 'write']],
  ),
]);

/** Functions of extensions that reach other servers. */
const DANGEROUS_EXTENSION_FUNCTIONS = new Set(['dblink', 'dblink_exec', 'dblink_open', 'dblink_connect', 'dblink_connect_u', 'dblink_send_query', 'dblink_fetch']);

/**
 * The classes a call contributes, from what the catalog says of the function: a volatile built-in is
 * `dangerous_function` unless reviewed, and so is a `pg_…`/`lo_…` name the catalog facts do not know
 * (a newer server's built-in, or an extension's). Other names are the target's own functions.
 */
export function functionClasses(name: string): readonly string[] {
  const reviewed = REVIEWED_VOLATILE.get(name);
  if (reviewed) return reviewed;
  if (DANGEROUS_EXTENSION_FUNCTIONS.has(name) || VOLATILE_BUILTINS.has(name)) return ['dangerous_function', 'write'];
  if (/^(pg_|lo_)/.test(name) && !NON_VOLATILE_SYSTEM_FUNCTIONS.has(name)) return ['dangerous_function', 'write'];
  return [];
}
