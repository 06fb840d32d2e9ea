/**
 * Taken by every writer, in every process, before it reads the chain head: one lock per batch. The
 * append functions installed by the migrations take it too (migrations/sql/), with this same value.
 */
export const CHAIN_LOCK_KEY = 7_318_245_501;
