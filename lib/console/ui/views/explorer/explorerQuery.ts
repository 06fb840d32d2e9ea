import { ACTIVITY_FILTERS } from '../../api/vocabulary';

/** Sorts whose pages follow `nextCursor` (keyset); the others page by offset. */
const KEYSET_ORDER_BY = new Set(['startTime', 'createdAt']);
export const PAGE_SIZES = [25, 50, 100, 200] as const;
export const DEFAULT_PAGE_SIZE = 50;

/** The explorer's URL holds the API's own parameters: filters, sort, page size, and the page's cursor or offset. */
export interface ExplorerQuery {
  filters: Record<string, string>;
  limit: number;
  orderBy: string;
  order: 'asc' | 'desc';
  after: string | null;
  offset: number;
}

export function explorerQueryOf(params: URLSearchParams): ExplorerQuery {
  const filters: Record<string, string> = {};
  for (const name of ACTIVITY_FILTERS) {
    // Several activityType parameters (the API's other spelling) become its comma list.
    const values = params.getAll(name).filter((value) => value !== '');
    if (values.length > 0) filters[name] = values.join(',');
  }
  const limit = Number(params.get('limit'));
  const offset = Number(params.get('offset'));
  return {
    filters,
    limit: Number.isInteger(limit) && limit > 0 ? limit : DEFAULT_PAGE_SIZE,
    orderBy: params.get('orderBy') || 'startTime',
    order: params.get('order') === 'asc' ? 'asc' : 'desc',
    after: params.get('after') || null,
    offset: Number.isInteger(offset) && offset > 0 ? offset : 0,
  };
}

export function usesKeyset(query: ExplorerQuery): boolean {
  return KEYSET_ORDER_BY.has(query.orderBy);
}

/** The URL (and /activities) parameters of a query; defaults are left out so URLs stay short. */
export function paramsOf(query: ExplorerQuery): Record<string, string> {
  const out: Record<string, string> = { ...query.filters };
  if (query.limit !== DEFAULT_PAGE_SIZE) out['limit'] = String(query.limit);
  if (query.orderBy !== 'startTime') out['orderBy'] = query.orderBy;
  if (query.order !== 'desc') out['order'] = query.order;
  if (query.after) out['after'] = query.after;
  if (query.offset > 0) out['offset'] = String(query.offset);
  return out;
}

/** What /activities is asked: the URL's parameters with the page size always given. */
export function activitiesParams(query: ExplorerQuery): Record<string, string> {
  return { ...paramsOf(query), limit: String(query.limit) };
}

/** /export takes the filters and the order, never paging. */
export function exportParams(query: ExplorerQuery): Record<string, string> {
  return { ...query.filters, ...(query.order !== 'desc' ? { order: query.order } : {}) };
}

/** /live takes the filters but the period: it streams what is stored from now on. */
export function liveParams(query: ExplorerQuery): Record<string, string> {
  const { startDate: _start, endDate: _end, ...rest } = query.filters;
  return rest;
}

/** The same filters and sort, first page. */
export function firstPage(query: ExplorerQuery): ExplorerQuery {
  return { ...query, after: null, offset: 0 };
}

/** The page cursors kept in the history entry, so Previous goes back the way Next came. */
export interface PageHistory {
  cursors: Array<string | null>;
}

export function pageHistoryOf(state: unknown): PageHistory {
  const cursors = (state as { cursors?: unknown } | null)?.cursors;
  return { cursors: Array.isArray(cursors) ? cursors.filter((c): c is string | null => typeof c === 'string' || c === null) : [] };
}
