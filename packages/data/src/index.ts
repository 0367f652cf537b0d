export { DataError, imageAt, validateImageSet } from './types';
export type { ImageSet, NpyArray, NpyDtype } from './types';
export {
  fashionMnistFileStats,
  parseIdx,
  parseFashionJson,
  MNIST_CLASS_NAMES,
  FASHION_MNIST_CLASS_NAMES,
  FASHION_MNIST_TRAIN_PER_CLASS,
} from './mnist';
export { parseNpy, encodeNpy, npyHeader } from './npz';
export type { WriteNpzOptions } from './npz';
export { resizeUint8, resampleFloat, resizedCropFloat, resizedCropUint8, precomputeCoefficients, admCenterCrop, roundHalfEven } from './resample';
export type { ResampleFilter, ResampleBox, Coefficients } from './resample';
export {
  normalizeImages,
  denormalizeImages,
  normalizationAffine,
  padImageSet,
  resizeImageSet,
  admCenterCropSet,
  toChannels,
  lumaUint8,
  takePerClass,
  subset,
  IMAGENET_MEAN,
  IMAGENET_STD,
} from './transform';
export type { Normalization } from './transform';
export {
  MOCO_V3_VIEW1,
  MOCO_V3_VIEW2,
  MNIST_VIEW1,
  MNIST_VIEW2,
  MNIST_PAIR,
  FASHION_PAIR,
  defaultPairConfig,
  sampleCrop,
  sampleViewParams,
  applyView,
  augmentPairBatch,
  dropLabels,
  adjustBrightness,
  adjustContrast,
  adjustSaturation,
  adjustHue,
  toGrayscaleInPlace,
  gaussianBlur,
  gaussianKernel,
  solarize,
} from './augment';
export type { ViewConfig, PairConfig, ViewParams, JitterOp, AugmentedPair } from './augment';
export { ImageLoader, parseLoaderState } from './loader';
export type { LoaderState, LoaderOptions, LoadedBatch, RawBatch } from './loader';
export { pairPrepare, plainPrepare, pairToTensors, plainToTensors } from './pipeline';
export type { PairBatch, PlainBatch, PairPrepareOptions } from './pipeline';
export { syntheticImageSet } from './synthetic';
export type { SyntheticOptions } from './synthetic';
export { tileGrid, IMAGE_EXTENSIONS } from './image-io';
export type { RawImage, GridOptions, ImageFolderIndex, ImageFolderOptions, LoadedImageFolder } from './image-io';
// IO entry points: Either / TaskEither, never throwing for a user-fixable problem (./io.ts).
export {
  readNpz,
  writeNpz,
  writeAdmNpz,
  loadMnist,
  loadFashionMnist,
  loadImageFolder,
  scanImageFolder,
  readImage,
  writePng,
  writePngGrid,
  writeSampleGrid,
} from './io';
