import { ACTIVITY_TYPES, ACTOR_TYPES, ORDER_BY_FIELDS } from '../../api/vocabulary';
import { fromLocalInput, toLocalInput } from '../../format/formatters';
import { useI18n, type MessageKey } from '../../i18n/i18n';
import { FIELD_LABELS } from '../../i18n/fieldLabels';
import { DEFAULT_PAGE_SIZE, PAGE_SIZES, type ExplorerQuery } from './explorerQuery';
import { M } from '../../i18n/keys';

/** The free-text filters, in form order: who, then what. */
const WHO_FILTERS: Array<{ name: string; label: MessageKey }> = [
  { name: 'userId', label: M.fieldUserId },
  { name: 'sessionId', label: M.fieldSessionId },
  { name: 'ipAddress', label: M.fieldIpAddress },
];
const WHAT_FILTERS: Array<{ name: string; label: MessageKey }> = [
  { name: 'entityType', label: M.fieldEntityType },
  { name: 'entityId', label: M.fieldEntityId },
  { name: 'action', label: M.fieldAction },
  { name: 'category', label: M.fieldCategory },
];
const TEXT_FILTERS = [...WHO_FILTERS, ...WHAT_FILTERS];

interface FilterFormProps {
  query: ExplorerQuery;
  onApply(query: ExplorerQuery): void;
  onReset(): void;
}

/**
 * Every /activities filter as a control named like its API parameter, filled from the URL. The
 * form is remounted (key) whenever the URL's query changes, so back / forward refill it.
 */
export function FilterForm({ query, onApply, onReset }: FilterFormProps) {
  const { t } = useI18n();
  const f = query.filters;
  const types = new Set((f['activityType'] ?? '').split(',').filter(Boolean));
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const filters: Record<string, string> = {};
    for (const { name } of TEXT_FILTERS) {
      const value = String(form.get(name) ?? '').trim();
      if (value !== '') filters[name] = value;
    }
    const chosenTypes = form.getAll('activityType').map(String).filter(Boolean);
    if (chosenTypes.length > 0) filters['activityType'] = chosenTypes.join(',');
    for (const name of ['startDate', 'endDate']) {
      const iso = fromLocalInput(form.get(name) as string | null);
      if (iso) filters[name] = iso;
    }
    for (const name of ['success', 'actorType']) {
      const value = String(form.get(name) ?? '');
      if (value !== '') filters[name] = value;
    }
    const limit = Number(form.get('limit'));
    onApply({
      filters,
      limit: Number.isInteger(limit) && limit > 0 ? limit : DEFAULT_PAGE_SIZE,
      orderBy: String(form.get('orderBy') || 'startTime'),
      order: form.get('order') === 'asc' ? 'asc' : 'desc',
      after: null,
      offset: 0,
    });
  };
  return (
    <form id="filters" class="filters no-print" onSubmit={submit} aria-label={t(M.explorerFilters)}>
      <div class="filter-grid">
        <div class="field">
          <label for="filter-startDate">{t(M.periodFrom)}</label>
          <input id="filter-startDate" name="startDate" type="datetime-local" step={1} defaultValue={toLocalInput(f['startDate'])} />
        </div>
        <div class="field">
          <label for="filter-endDate">{t(M.periodTo)}</label>
          <input id="filter-endDate" name="endDate" type="datetime-local" step={1} defaultValue={toLocalInput(f['endDate'])} />
        </div>
        {WHO_FILTERS.map((field) => <TextFilter key={field.name} {...field} value={f[field.name]} />)}
        <div class="field field-types">
          <label for="filter-activityType">{t(M.fieldActivityType)}</label>
          <select id="filter-activityType" name="activityType" multiple size={5} aria-describedby="filter-activityType-hint">
            {ACTIVITY_TYPES.map((type) => <option key={type} value={type} selected={types.has(type)}>{type}</option>)}
          </select>
          <span id="filter-activityType-hint" class="hint">{t(M.explorerMultiHint)}</span>
        </div>
        {WHAT_FILTERS.map((field) => <TextFilter key={field.name} {...field} value={f[field.name]} />)}
        <div class="field">
          <label for="filter-success">{t(M.fieldSuccess)}</label>
          <select id="filter-success" name="success">
            <option value="" selected={!f['success']}>{t(M.commonAny)}</option>
            <option value="true" selected={f['success'] === 'true'}>{t(M.explorerSucceeded)}</option>
            <option value="false" selected={f['success'] === 'false'}>{t(M.explorerFailed)}</option>
          </select>
        </div>
        <div class="field">
          <label for="filter-actorType">{t(M.fieldActorType)}</label>
          <select id="filter-actorType" name="actorType">
            <option value="" selected={!f['actorType']}>{t(M.commonAny)}</option>
            {ACTOR_TYPES.map((type) => <option key={type} value={type} selected={f['actorType'] === type}>{type}</option>)}
          </select>
        </div>
      </div>
      <div class="form-actions">
        <div class="field">
          <label for="filter-orderBy">{t(M.explorerOrderBy)}</label>
          <select id="filter-orderBy" name="orderBy">
            {ORDER_BY_FIELDS.map((field) => <option key={field} value={field} selected={query.orderBy === field}>{t(FIELD_LABELS[field] ?? M.explorerOrderBy)}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="filter-order">{t(M.explorerOrder)}</label>
          <select id="filter-order" name="order">
            <option value="desc" selected={query.order === 'desc'}>{t(M.explorerDescending)}</option>
            <option value="asc" selected={query.order === 'asc'}>{t(M.explorerAscending)}</option>
          </select>
        </div>
        <div class="field">
          <label for="filter-limit">{t(M.explorerPageSize)}</label>
          <select id="filter-limit" name="limit">
            {PAGE_SIZES.map((size) => <option key={size} value={size} selected={query.limit === size}>{size}</option>)}
          </select>
        </div>
        <div class="buttons">
          <button type="submit" class="button primary">{t(M.explorerApply)}</button>
          <button type="button" class="button" onClick={onReset}>{t(M.explorerReset)}</button>
        </div>
      </div>
    </form>
  );
}
function TextFilter({ name, label, value }: { name: string; label: MessageKey; value: string | undefined }) {
  const { t } = useI18n();
  return (
    <div class="field">
      <label for={`filter-${name}`}>{t(label)}</label>
      <input id={`filter-${name}`} name={name} type="text" defaultValue={value ?? ''} autoComplete="off" spellcheck={false} />
    </div>
  );
}
