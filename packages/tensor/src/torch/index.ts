export {
  decodeTorchCheckpoint,
  readTorchCheckpoint,
  selectPath,
  listCheckpoint,
  torchStateDict,
  isStateDict,
  tensorBytes,
  toHostTensor,
  TorchTensor,
  TorchStorage,
  PyObject,
} from './torch-checkpoint';
export type { TorchCheckpoint, TorchDtype, CheckpointEntry, StateDictOptions } from './torch-checkpoint';
export { readStateDict, decodeStateDict, sniffWeightsFormat } from './state-dict-file';
export type { WeightsFormat } from './state-dict-file';
export { zipEntries, readZipEntry, bufferSource, fileSource } from './zip';
export type { ZipEntry, ByteSource } from './zip';
