/**
 * The report routes' fixed vocabularies the filter controls offer, from the server's own lists
 * (modules with no runtime imports, so the bundle takes only these arrays).
 */
export { ACTIVITY_TYPES, ACTOR_TYPES } from '../../../types';
export { ORDER_BY_FIELDS } from '../../../store/reports/filters';
import { ACTIVITY_FILTER_PARAMS } from '../../../store/reports/filters';

/** The /activities filters, in the order the explorer's form shows them. */
export const ACTIVITY_FILTERS = ACTIVITY_FILTER_PARAMS;
export type ActivityFilterName = (typeof ACTIVITY_FILTERS)[number];
