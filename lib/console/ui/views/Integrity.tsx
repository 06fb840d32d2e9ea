import { useEffect, useRef, useState } from 'preact/hooks';
import { pathOf, type ApiFailure } from '../api/client';
import type { ChainVerification, IntegrityRun, IntegrityRuns, RecordedVerification } from '../api/types';
import { useConsole } from '../context';
import { useI18n, type MessageKey } from '../i18n/i18n';
import { asFailure, useLoad } from '../hooks/useLoad';
import { Empty, ErrorNotice, Status } from '../components/Notice';
import { TableHead } from '../components/TableHead';
import { Time } from '../components/Time';
import { ViewRoot } from '../components/ViewRoot';
import { Missing } from '../components/values';
import { M } from '../i18n/keys';

/** How often a running verification is asked for its progress. */
const POLL_MS = 500;

/**
 * The hash chain's integrity (platform admins): the verifications recorded on the trail, and a
 * button that starts one (optionally checking a checkpoint) and follows it to its result.
 */
export function Integrity() {
  const { api } = useConsole();
  const { t } = useI18n();
  const runs = useLoad((signal) => api.get<{ data: IntegrityRuns }>('/integrity/runs', {}, signal).then((r) => r.data), []);
  const [run, setRun] = useState<IntegrityRun | null>(null);
  const [startError, setStartError] = useState<ApiFailure | null>(null);
  const [checkpoint, setCheckpoint] = useState('');
  const [starting, setStarting] = useState(false);

  // A verification already running when the page opened is followed too.
  useEffect(() => {
    if (run === null && runs.data?.current) setRun(runs.data.current);
  }, [runs.data]);

  usePolling(run, setRun, () => runs.reload());

  const start = async (event: Event) => {
    event.preventDefault();
    setStartError(null);
    let body: { checkpoint?: unknown } = {};
    if (checkpoint.trim() !== '') {
      try {
        body = { checkpoint: JSON.parse(checkpoint) as unknown };
      } catch (error) {
        setStartError(asFailure(new Error(t(M.integrityCheckpointInvalid, { reason: error instanceof Error ? error.message : String(error) }))));
        return;
      }
    }
    setStarting(true);
    try {
      const { data } = await api.post<{ data: IntegrityRun }>('/integrity/runs', body);
      setRun(data);
    } catch (error) {
      setStartError(asFailure(error));
    } finally {
      setStarting(false);
    }
  };

  const running = run?.status === 'running';
  return (
    <ViewRoot view="integrity" ready={!runs.loading} title={t(M.integrityTitle)}>
      <p class="muted">{t(M.integrityIntro)}</p>
      <section class="panel" aria-labelledby="verify-heading">
        <h2 id="verify-heading">{t(M.integrityVerify)}</h2>
        <form class="verify-form no-print" onSubmit={(event) => void start(event)}>
          <div class="field">
            <label for="checkpoint">{t(M.integrityCheckpoint)}</label>
            <textarea id="checkpoint" name="checkpoint" rows={4} spellcheck={false} value={checkpoint} aria-describedby="checkpoint-hint"
              onInput={(event) => setCheckpoint((event.currentTarget as HTMLTextAreaElement).value)} />
            <span id="checkpoint-hint" class="hint">{t(M.integrityCheckpointHint)}</span>
          </div>
          <button type="submit" class="button primary" disabled={starting || running}>{t(M.integrityVerifyNow)}</button>
        </form>
        {startError && <ErrorNotice error={startError} />}
        {run && <RunProgress run={run} />}
      </section>
      <section class="panel" aria-labelledby="recent-heading">
        <h2 id="recent-heading">{t(M.integrityRecent)}</h2>
        <Status>{runs.loading ? t(M.commonLoading) : ''}</Status>
        {runs.error && <ErrorNotice error={runs.error} />}
        {runs.data && runs.data.recent.length === 0 && <Empty>{t(M.integrityNoRecent)}</Empty>}
        {runs.data && runs.data.recent.length > 0 && <RecentTable recent={runs.data.recent} />}
      </section>
    </ViewRoot>
  );
}

/** Asks for the run every POLL_MS while it runs; `onFinished` once it ends (the trail then holds its result). */
function usePolling(run: IntegrityRun | null, setRun: (run: IntegrityRun) => void, onFinished: () => void) {
  const { api } = useConsole();
  const finished = useRef(onFinished);
  finished.current = onFinished;
  const id = run?.status === 'running' ? run.id : null;
  useEffect(() => {
    if (id === null) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const { data } = await api.get<{ data: IntegrityRun }>(`/integrity/runs${pathOf(id)}`);
        if (stopped) return;
        setRun(data);
        if (data.status !== 'running') {
          finished.current();
          return;
        }
      } catch {
        // A missed answer is asked again at the next tick.
      }
      if (!stopped) timer = setTimeout(() => void poll(), POLL_MS);
    };
    timer = setTimeout(() => void poll(), POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [id]);
}

function RunProgress({ run }: { run: IntegrityRun }) {
  const { t, fmt } = useI18n();
  // Positions, not rows: after retention the chain starts past 1, and the walk goes on to rows stored meanwhile.
  const max = run.headPosition ?? 0;
  const value = Math.min(run.position ?? 0, max);
  return (
    <div class="run" data-run-status={run.status}>
      <h3>{run.status === 'running' ? t(M.integrityRunning) : run.status === 'done' ? t(M.integrityFinished) : t(M.integrityRunFailed)}</h3>
      <p class="muted small">{t(M.integrityStartedAt)} <Time iso={run.startedAt} />{run.finishedAt && <> · {t(M.integrityFinishedAt)} <Time iso={run.finishedAt} /></>}</p>
      {run.status === 'running' && (
        <>
          <label for="verify-progress">{t(M.integrityProgress)}</label>
          {max > 0 ? <progress id="verify-progress" max={max} value={value} /> : <progress id="verify-progress" />}
          <Status>{t(M.integrityRowsChecked, { count: fmt.number(run.rowsChecked), position: fmt.number(run.position ?? 0), total: max > 0 ? fmt.number(max) : '?' })}</Status>
        </>
      )}
      {run.status === 'failed' && <div class="notice notice-error" role="alert"><p>{run.error ?? t(M.integrityRunFailed)}</p></div>}
      {run.result && <VerificationResult result={run.result} />}
    </div>
  );
}

const CHECKPOINT_STATUS: Record<string, MessageKey> = {
  matched: M.integrityCpMatched,
  mismatched: M.integrityCpMismatched,
  missing: M.integrityCpMissing,
  removed_by_retention: M.integrityCpRemovedByRetention,
  not_reached: M.integrityCpNotReached,
  key_mismatch: M.integrityCpKeyMismatch,
};

/** The chain's verdict: intact, or the first problem (what, where, why), and how the checkpoint compared. */
export function VerificationResult({ result }: { result: ChainVerification | RecordedVerification }) {
  const { t, fmt } = useI18n();
  return (
    <div class={`verdict ${result.ok ? 'verdict-ok' : 'verdict-bad'}`} role="status">
      <p class="verdict-title">{result.ok ? t(M.integrityOk) : t(M.integrityBroken)}</p>
      <dl class="fields">
        <div class="field-row"><dt>{t(M.integrityRowsCheckedLabel)}</dt><dd>{fmt.number(result.rowsChecked)}</dd></div>
        <div class="field-row"><dt>{t(M.integrityRange)}</dt><dd>{result.verifiedFrom === null ? <Missing /> : `${fmt.number(result.verifiedFrom)} – ${fmt.number(result.verifiedTo ?? result.verifiedFrom)}`}</dd></div>
        {result.headHash && <div class="field-row"><dt>{t(M.integrityHeadHash)}</dt><dd class="mono hash">{result.headHash}</dd></div>}
        {result.failure && (
          <>
            <div class="field-row"><dt>{t(M.integrityProblem)}</dt><dd><span class="badge badge-fail">{result.failure.problem}</span></dd></div>
            <div class="field-row"><dt>{t(M.integrityPosition)}</dt><dd>{result.failure.position === null ? <Missing /> : fmt.number(result.failure.position)}</dd></div>
            <div class="field-row"><dt>{t(M.integrityMessage)}</dt><dd>{result.failure.message}</dd></div>
          </>
        )}
        {result.checkpoint && (
          <div class="field-row">
            <dt>{t(M.integrityCheckpointStatus)}</dt>
            <dd>
              <span class={`badge ${result.checkpoint.status === 'matched' ? 'badge-ok' : 'badge-fail'}`}>{CHECKPOINT_STATUS[result.checkpoint.status] ? t(CHECKPOINT_STATUS[result.checkpoint.status] as M) : result.checkpoint.status}</span>
              {' '}{t(M.integrityCheckpointAt, { position: fmt.number(result.checkpoint.position) })} · <Time iso={result.checkpoint.createdAt} />
            </dd>
          </div>
        )}
      </dl>
    </div>
  );
}

function RecentTable({ recent }: { recent: RecordedVerification[] }) {
  const { t, fmt } = useI18n();
  return (
    <div class="table-scroll">
      <table class="data">
        <caption>{t(M.integrityRecentCaption)}</caption>
        <TableHead cols={[M.integrityWhen, M.fieldUserId, M.integrityResult, [M.integrityRowsCheckedLabel, 'num'], M.integrityRange, M.integrityProblem, M.integrityCheckpointStatus]} />
        <tbody>
          {recent.map((entry, index) => (
            <tr key={`${entry.at}:${index}`}>
              <td class="nowrap"><Time iso={entry.at} /></td>
              <td>{entry.userId ?? <Missing />}</td>
              <td>{entry.status === 'failed' ? <span class="badge badge-warn">{t(M.integrityNotFinished)}</span>
                : <span class={`badge ${entry.ok ? 'badge-ok' : 'badge-fail'}`}>{entry.ok ? t(M.integrityOkShort) : t(M.integrityBrokenShort)}</span>}</td>
              <td class="num">{typeof entry.rowsChecked === 'number' ? fmt.number(entry.rowsChecked) : <Missing />}</td>
              <td>{entry.verifiedFrom === null || entry.verifiedFrom === undefined ? <Missing /> : `${fmt.number(entry.verifiedFrom)} – ${fmt.number(entry.verifiedTo ?? entry.verifiedFrom)}`}</td>
              <td>{entry.failure ? <><span class="badge badge-fail">{entry.failure.problem}</span> <span class="small">{entry.failure.message}</span></> : entry.error ? <span class="small">{entry.error}</span> : <Missing />}</td>
              <td>{entry.checkpoint ? `${entry.checkpoint.status} (${fmt.number(entry.checkpoint.position)})` : <Missing />}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
