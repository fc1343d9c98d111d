// The labeling service's HTTP layer: buildServer and the pieces `rlhf serve` / `rlhf feedback` share.

export { buildServer, CSP, type GenerateFn, type ServerOptions } from './app.js';
export { DEFAULT_LIMITS, ROUTES, type Access, type RouteName, type RouteSpec } from './access.js';
export { publicUrlBase, signInLink } from './routes-admin.js';
export {
  ImportError,
  formatImportIssue,
  goldNote,
  parseImport,
  type ImportFormat,
  type ParsedImport,
} from './tasks-import.js';
export { EXPORT_FORMATS, exportProject, type ExportFormat } from './export.js';
export { projectStatsWithThroughput, statsTable } from './report.js';
