/**
 * View pairs for 28-px grey images: the same recipe as apps/integration's (MoCo v3 views adapted to
 * digits and clothes; docs/ssl.md, "Small images"). Duplicated here because one app does not import
 * another; move both to @epg/data when a third user appears.
 */
import { MOCO_V3_VIEW1, MOCO_V3_VIEW2, type PairConfig, type ViewConfig } from '@epg/data';

const GREY_28: Omit<ViewConfig, 'blurProb' | 'solarizeProb' | 'flipProb'> = {
  ...MOCO_V3_VIEW1,
  cropScale: [0.3, 1],
  saturation: 0,
  hue: 0,
  grayscaleProb: 0,
  blurSigma: [0.1, 1.0],
};
const VIEW1: ViewConfig = { ...GREY_28, blurProb: MOCO_V3_VIEW1.blurProb, solarizeProb: 0, flipProb: 0 };
const VIEW2: ViewConfig = { ...GREY_28, blurProb: MOCO_V3_VIEW2.blurProb, solarizeProb: 0, flipProb: 0 };

export const MNIST_PAIR: PairConfig = { size: 28, channels: 1, normalization: 'minus-one-one', view1: VIEW1, view2: VIEW2, x0FlipProb: 0 };
export const FASHION_PAIR: PairConfig = {
  ...MNIST_PAIR,
  view1: { ...VIEW1, flipProb: 0.5 },
  view2: { ...VIEW2, flipProb: 0.5, solarizeProb: MOCO_V3_VIEW2.solarizeProb },
  x0FlipProb: 0.5,
};
