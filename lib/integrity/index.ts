export { verifyChain, INTEGRITY_PROBLEMS, type ChainVerification, type CheckpointStatus, type IntegrityProblem, type VerifyChainOptions } from './verify';
export { createCheckpoint, verifyCheckpoint, checkpointText, resolveCheckpointKey, type CheckpointAlgorithm, type CheckpointCheck, type CheckpointKey, type SignedCheckpoint } from './checkpoint';
