import type { ArchiveChainCheck } from './againstChain';
import type { ArchiveFinding } from './problems';
import type { ArchiveReadBack } from './readBack';

/** What `activity-tracking verify-archive` prints: the archive, its signature, its check, and the chain's. */
export function describeArchiveCheck(file: string, read: ArchiveReadBack, chain: ArchiveChainCheck | { skipped: string }, keyName: string): string {
  const lines: string[] = [];
  const { manifest } = read;
  if (manifest) {
    lines.push(
      `Archive ${file}: chain positions ${manifest.fromPosition} to ${manifest.toPosition}, ${manifest.rowCount} row(s), cutoff ${manifest.cutoff}, written ${manifest.createdAt}.`,
      `Read ${read.rowsRead} row(s) from ${manifest.dataFile}.`,
      signatureLine(read, keyName),
    );
  } else {
    lines.push(`Archive ${file}:`);
  }
  lines.push(read.ok ? 'Archive OK: whole and intact; every row matches its hash and links to the row before.' : 'ARCHIVE BROKEN:', ...read.problems.map(problemLine));
  if ('skipped' in chain) lines.push(`Chain not checked: ${chain.skipped}.`);
  else if (chain.ok && chain.status === 'recorded') lines.push(`Chain OK: the retention record at position ${chain.recordPosition} removed exactly these rows (same range, last hash and cutoff).`);
  else if (chain.ok) lines.push('Chain OK: the rows are still in the chain, with the archive\'s hashes (retention has not removed them yet).');
  else lines.push('CHAIN MISMATCH:', ...chain.problems.map(problemLine));
  return `${lines.join('\n')}\n`;
}

function signatureLine(read: ArchiveReadBack, keyName: string): string {
  const signature = read.manifest?.signature;
  switch (read.signature) {
    case 'verified': return `Signature: verified with key ${signature?.keyId ?? ''}.`;
    case 'failed': return 'Signature: FAILED (see below).';
    case 'unsigned': return `Signature: none (the writer had no signing key; set ${keyName} to require one).`;
    case 'not_checked': return `Signature: by key ${signature?.keyId ?? ''}, not checked (set ${keyName} to the writer's key, or for Ed25519 its public key, to check it).`;
  }
}

function problemLine(finding: ArchiveFinding): string {
  return `  ${finding.problem}${finding.position === null ? '' : ` at position ${finding.position}`}: ${finding.message}`;
}
