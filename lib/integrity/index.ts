export { verifyChain, INTEGRITY_PROBLEMS, DEFAULT_BACKDATED_AFTER_DAYS, type ChainVerification, type VerifyProgress, type CheckpointStatus, type IntegrityProblem, type VerifyChainOptions } from './verify';
export { createCheckpoint, verifyCheckpoint, checkpointText, checkpointKeyId, resolveCheckpointKey, type CheckpointAlgorithm, type CheckpointCheck, type CheckpointKey, type SignedCheckpoint } from './checkpoint';
export { checkBatchSignatures, resolveSigningKey, batchSignatureText, type BatchSigningKey, type SigningKeyInput } from './batchSignatures';
