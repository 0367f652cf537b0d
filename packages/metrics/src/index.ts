/**
 * @epg/metrics: Fréchet distance (FID), KID, Inception Score, precision/recall, feature
 * extractors (FID Inception-v3 with user-supplied weights; a domain classifier for MNIST and
 * Fashion-MNIST) and reference statistics files. Statistics and the matrix step run in float64 on
 * the host; networks run on tfjs. See README.md and docs/metrics.md.
 */
export { StatisticsAccumulator, featureStatistics } from './stats';
export type { FeatureStatistics } from './stats';
export { frechetDistance, frechetTerms, assertSameExtractor, ExtractorMismatchError } from './frechet';
export type { Gaussian, FrechetTerms } from './frechet';
export { traceSqrtProduct, pivotedCholesky, symmetricEigenvalues, triangularCongruence, permuteSymmetric } from './linalg';
export type { PivotedCholesky } from './linalg';
export { kernelInceptionDistance, polynomialMmd2 } from './kid';
export type { KidOptions, KidResult, FeatureMatrix } from './kid';
export { inceptionScore } from './inception-score';
export type { InceptionScoreResult } from './inception-score';
export { precisionRecall, kthNeighbourRadiiSquared } from './precision-recall';
export type { PrecisionRecall } from './precision-recall';
export { extractFeatures, computeStatistics, quantizeUnitRange } from './features';
export type { FeatureExtractor, PixelSource, ExtractOptions } from './features';
export {
  createInceptionExtractor,
  loadInceptionWeights,
  randomInceptionWeights,
  checkInceptionWeights,
  inceptionConvSpecs,
  inceptionWeightShapes,
  INCEPTION_FID_NAME,
  INCEPTION_FEATURE_DIM,
  INCEPTION_NUM_CLASSES,
  INCEPTION_INPUT_SIZE,
} from './inception';
export type { InceptionExtractor, InceptionWeights, InceptionOptions, ConvSpec } from './inception';
export {
  initDomainClassifier,
  domainClassifierForward,
  domainPreprocess,
  convSame,
  DOMAIN_FEATURE_DIM,
  DOMAIN_INPUT_SIZE,
  DOMAIN_NUM_CLASSES,
  DOMAIN_PARAM_SHAPES,
  DOMAIN_BUFFER_SHAPES,
} from './domain-classifier';
export type { DomainOutputs } from './domain-classifier';
export { trainDomainClassifier, domainAccuracy } from './domain-train';
export type { DomainTrainOptions, LabelledImages } from './domain-train';
export {
  loadDomainClassifier,
  trainDomainWeights,
  createDomainExtractor,
  encodeDomainWeights,
  decodeDomainWeights,
  domainWeightsFileName,
  domainWeightsId,
  DOMAIN_WEIGHTS_DIR,
  DOMAIN_MIN_ACCURACY,
  DOMAIN_EPOCHS,
  DOMAIN_WEIGHTS_VERSION,
} from './domain-extractor';
export type { DomainDataset, DomainClassifier, LoadDomainOptions, TrainDomainWeightsOptions, TrainedDomainWeights, DomainExtractorOptions } from './domain-extractor';
export { saveStatistics, loadStatistics, loadAdmReference, cachedStatistics } from './reference-stats';
export type { LoadStatisticsOptions, CachedStatisticsOptions } from './reference-stats';
export type { AdmReference } from './reference-stats';
export { knnTop1, linearProbe, probeAtSigmas } from './probes';
export type { KnnOptions, ProbeResult, LinearProbeOptions, LinearProbeResult, SigmaFeatureFn, NoisyProbeOptions, NoisyProbeRow } from './probes';
