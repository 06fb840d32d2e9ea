/**
 * The hash chain's encoding. The SQL that computes it is generated under migrations/sql/generator/
 * and installed, frozen, by the migrations; the verifier does not call it: it recomputes the same
 * bytes in JavaScript (recordEncoding.ts), and a test checks the two agree.
 *
 * The canonical encoding, version 1: the text form PostgreSQL gives the record of these values, in
 * this order (a composite value's text form: parentheses, commas, a value quoted when it holds
 * special characters, nothing for NULL). Every value has one text form whatever the session's
 * settings: times as epoch milliseconds, the duration as the hex of its 8 IEEE-754 bytes (a float's
 * text depends on extra_float_digits), jsonb as jsonb prints it (keys in one fixed order, numbers
 * exact). The content hash is the hex SHA-256 of its UTF-8 bytes and covers the position; the row
 * hash is the hex SHA-256 of prev_hash followed by the content hash, so it covers the chain before.
 *
 * Version 2 (migration 20261126000000_domain_events) adds the domain-event, tenant and risk columns:
 * a row with any of them set is encoded as the version-1 record followed by the record
 * ('v2', those values); a row with none of them set is encoded exactly as in version 1, so rows
 * stored before version 2 verify unchanged.
 *
 * Version 3 (migration 20261202000000_writer_hashes, lib/integrity/encodingV3.ts) is the writer's:
 * the app hashes each row's content as JSON before it sends it, and the database links that hash
 * with the position and the risk columns it scores. user_activity.hash_version is 3 for such rows.
 *
 * The columns each version covers, and their order, are in the column registry (lib/store/columns.ts).
 */

/** The hash of the chain before its first row. */
export const GENESIS_HASH = '0'.repeat(64);
