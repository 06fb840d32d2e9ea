export { ARCHIVE_FORMAT, archiveFileNames, type ArchiveSink } from './sink';
export { folderArchiveSink } from './folderSink';
export { writeArchive, ARCHIVE_BATCH_SIZE, type WriteArchiveOptions } from './writeArchive';
export { readBackArchive, type ArchiveReadBack, type ArchiveSignatureStatus, type ReadBackOptions } from './readBack';
export { verifyArchiveAgainstChain, type ArchiveChainCheck, type ArchiveChainStatus } from './againstChain';
export { archiveSignatureText, type ArchiveManifest, type ArchiveSignature } from './manifest';
export { ARCHIVE_PROBLEMS, type ArchiveFinding, type ArchiveProblem } from './problems';
