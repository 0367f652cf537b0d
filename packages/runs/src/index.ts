export { createProgress, formatDuration, formatValue } from './progress';
export type { Progress, ProgressOptions } from './progress';
export { appendRecord, formatRecord, readRecords, truncateAfter } from './metrics-log';
export type { MetricRecord } from './metrics-log';
export { curvePoints, curveSpec, renderCurveSvg } from './curves';
export type { CurveOptions } from './curves';
export { renderHtml, renderMarkdown, writeReport, formatNumber } from './report';
export type { ReportModel, ReportSection, ReportTable, ReportFigure } from './report';
