import {
  StatusAborted,
  StatusError,
  StatusOK,
  StatusPending,
  StatusRunning,
  StatusWarning,
} from '@backstage/core-components';
import { Alert, Box, Flex, Text } from '@backstage/ui';
import type { Deployment, DeploymentState } from '@gekko/plugin-gekko-common';
import { Timestamp } from '../components/Timestamp';
import { AnalysisEvidence } from './AnalysisEvidence';
import {
  DEPLOYMENT_PHASES,
  analysesOf,
  durationOf,
  formatDuration,
  isFinished,
  phaseIndex,
  progressOf,
  releaseOf,
} from './deploymentModel';
import { RollbackButton } from './RollbackButton';

/** A deployment's state as a status with its word. */
export function DeploymentStateStatus(props: { state: DeploymentState }) {
  const label = props.state.replace('_', ' ');
  switch (props.state) {
    case 'succeeded':
      return <StatusOK>{label}</StatusOK>;
    case 'failed':
      return <StatusError>{label}</StatusError>;
    case 'rolled_back':
      return <StatusAborted>{label}</StatusAborted>;
    case 'rolling_back':
      return <StatusWarning>{label}</StatusWarning>;
    case 'pending':
      return <StatusPending>{label}</StatusPending>;
    default:
      return <StatusRunning>{label}</StatusRunning>;
  }
}

/** Okabe–Ito green, blue and vermilion for phases done, under way and stopped at. */
const PHASE_COLOURS = {
  done: '#009E73',
  current: '#0072B2',
  stopped: '#D55E00',
  waiting: 'var(--bui-border-1, #ccc)',
} as const;

type PhaseStatus = keyof typeof PHASE_COLOURS;

/**
 * Each phase's status. A deployment that left the phases by a rollback or a failure stopped in the
 * last phase its events reached; one that succeeded went through them all.
 */
function phaseStatuses(deployment: Deployment): PhaseStatus[] {
  const { state } = deployment;
  const current = phaseIndex(state);
  const inPhases = current < DEPLOYMENT_PHASES.length;
  const stoppedAt =
    inPhases || state === 'succeeded'
      ? -1
      : Math.max(
          0,
          ...(deployment.events ?? [])
            .map(e => phaseIndex(e.state))
            .filter(i => i < DEPLOYMENT_PHASES.length),
        );
  return DEPLOYMENT_PHASES.map((_, i) => {
    if (state === 'succeeded') return 'done';
    if (inPhases) {
      if (i < current) return 'done';
      return i === current ? 'current' : 'waiting';
    }
    if (i < stoppedAt) return 'done';
    return i === stoppedAt ? 'stopped' : 'waiting';
  });
}

const PHASE_MARKS: Record<PhaseStatus, string> = {
  done: ' ✓',
  current: '',
  stopped: ' ✗',
  waiting: '',
};

/** Validation → preparation → activation → verification, the current phase marked. */
function PhaseTrack(props: { deployment: Deployment }) {
  const { state } = props.deployment;
  const statuses = phaseStatuses(props.deployment);
  const rolledBack = state === 'rolling_back' || state === 'rolled_back';
  return (
    <ol
      aria-label="Phases"
      style={{
        display: 'flex',
        gap: 8,
        listStyle: 'none',
        padding: 0,
        margin: 0,
      }}
    >
      {DEPLOYMENT_PHASES.map((phase, i) => {
        const status = statuses[i];
        return (
          <li
            key={phase.name}
            aria-current={status === 'current' ? 'step' : undefined}
            style={{
              flex: 1,
              padding: '6px 8px',
              borderRadius: 4,
              borderTop: `4px solid ${PHASE_COLOURS[status]}`,
            }}
          >
            <Text
              variant="body-small"
              weight={status === 'current' ? 'bold' : 'regular'}
              color={status === 'waiting' ? 'secondary' : 'primary'}
            >
              {i + 1}. {phase.name}
              {PHASE_MARKS[status]}
            </Text>
          </li>
        );
      })}
      {rolledBack && (
        <li
          style={{
            flex: 1,
            padding: '6px 8px',
            borderTop: '4px solid #D55E00',
          }}
        >
          <Text variant="body-small" weight="bold">
            Rollback{state === 'rolled_back' ? ' ✓' : '…'}
          </Text>
        </li>
      )}
    </ol>
  );
}

/** A step's colour: green once applied, vermilion once rolled back, neutral to come. */
function stepColour(applied: boolean, state: DeploymentState): string {
  if (!applied) return 'var(--bui-border-1, #ddd)';
  return state === 'rolled_back' || state === 'rolling_back'
    ? '#D55E00'
    : '#009E73';
}

/** The plan's steps, each applied, in progress or to come, with a bar of the traffic reached. */
function StepProgress(props: { deployment: Deployment }) {
  const { deployment } = props;
  const { applied, total, weight } = progressOf(deployment);
  const moving = !isFinished(deployment);
  return (
    <Flex direction="column" gap="1">
      <Text variant="body-medium">
        Step {moving ? Math.min(deployment.step + 1, total) : applied} of{' '}
        {total} · {weight} % of the traffic on the new release
      </Text>
      <div
        role="progressbar"
        aria-label="Steps applied"
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={applied}
        style={{
          display: 'flex',
          gap: 4,
          height: 10,
        }}
      >
        {deployment.plan.map(step => (
          <div
            key={step.index}
            title={step.name}
            style={{
              flex: 1,
              borderRadius: 3,
              background: stepColour(step.index < applied, deployment.state),
            }}
          />
        ))}
      </div>
      <Text variant="body-small" color="secondary">
        {deployment.plan.map(s => `${s.weight} %`).join(' → ')}
      </Text>
    </Flex>
  );
}

/** The deployment's events, newest first: what the task log shows, on the page. */
function EventLog(props: { deployment: Deployment }) {
  const events = [...(props.deployment.events ?? [])].reverse();
  return (
    <Box
      style={{ maxHeight: 220, overflowY: 'auto' }}
      aria-label="Deployment log"
      role="log"
    >
      <ul style={{ listStyle: 'none', margin: 0, padding: 0 }}>
        {events.map(event => (
          <li key={event.id} style={{ padding: '2px 0' }}>
            <Text variant="body-small" color="secondary">
              {new Date(event.time).toLocaleTimeString()}{' '}
            </Text>
            <Text
              variant="body-small"
              color={
                event.kind === 'error' ||
                (event.kind === 'analysis' && /failed/.test(event.message))
                  ? 'danger'
                  : 'primary'
              }
            >
              {event.message}
            </Text>
          </li>
        ))}
      </ul>
    </Box>
  );
}

/**
 * One deployment in full: its phase and step progress (live while in flight), the evidence of its
 * analyses, its log, and the Roll back button once it has succeeded.
 */
export function DeploymentDetails(props: {
  deployment: Deployment;
  onRolledBack?: (deployment: Deployment) => void;
}) {
  const { deployment, onRolledBack } = props;
  const analyses = analysesOf(deployment);
  return (
    <Flex direction="column" gap="4">
      <Flex justify="between" align="start" gap="3">
        <Flex direction="column" gap="1">
          <Flex align="center" gap="2">
            <Text variant="title-small">
              {deployment.strategy} of {releaseOf(deployment)}
            </Text>
            <DeploymentStateStatus state={deployment.state} />
          </Flex>
          <Text variant="body-small" color="secondary">
            Started by {deployment.createdBy},{' '}
            <Timestamp time={deployment.createdAt} /> ·{' '}
            {isFinished(deployment) ? 'took' : 'running for'}{' '}
            {formatDuration(durationOf(deployment))} · id {deployment.id}
          </Text>
        </Flex>
        {deployment.state === 'succeeded' && (
          <RollbackButton deployment={deployment} onRolledBack={onRolledBack} />
        )}
      </Flex>
      <PhaseTrack deployment={deployment} />
      <StepProgress deployment={deployment} />
      {deployment.reason && (
        <Alert
          status={deployment.state === 'failed' ? 'danger' : 'warning'}
          title={
            deployment.state === 'failed'
              ? 'The deployment failed'
              : 'Why it was rolled back'
          }
          description={deployment.reason}
        />
      )}
      <AnalysisEvidence
        analyses={analyses}
        maxP99Ms={deployment.options.analysis.maxP99Ms}
      />
      <EventLog deployment={deployment} />
    </Flex>
  );
}
