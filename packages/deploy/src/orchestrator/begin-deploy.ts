import { randomUUID } from 'node:crypto';
import { BatonError } from '@baton/lifecycle';
import { releaseCreator } from '../releases/source-revision.js';
import type { DeployRecord } from '../service-state.js';
import { describeDeploy, planDeploy } from '../strategies/plan.js';
import { describeStep } from '../strategies/step.js';
import type { DeployContext } from './deploy-context.js';

/**
 * Plans the deploy of `config.release` and journals it as the open deploy,
 * before any step runs. The candidate is journaled whole, its pinned
 * artifact included: a resume, and later a rollback to it, run those bytes.
 */
export async function beginDeploy(ctx: DeployContext): Promise<DeployRecord> {
  const candidate = ctx.config.release;
  const stable = ctx.state.stable;
  // Without a ready stable instance there is nothing to shift traffic from: the candidate takes it all.
  const hasStable = stable !== undefined && ctx.instancesOf(stable.version).some((instance) => instance.status === 'ready');
  const steps = planDeploy(ctx.config.strategy, ctx.config.instances, { hasStable });
  // Refused before anything starts or moves: a router that cannot copy requests cannot run a shadow step.
  if (steps.some((step) => step.kind === 'shadow') && ctx.router.shadow === undefined) {
    throw new BatonError(
      'BATON_ERR_DEPLOY_CONFIG',
      `The strategy has a shadow step, which needs a router that copies requests and compares answers: the built-in one (router.kind: 'builtin'). The ${ctx.router.kind} router cannot; nothing was started.`,
    );
  }
  // Refused likewise: a stack that cannot close keep-alive connections keeps its clients past the switch, and its
  // retirement at the deadline would cut them off.
  if (ctx.stacks !== undefined && Object.values(ctx.stacks.stacks).some((router) => router.setKeepAlive === undefined)) {
    throw new BatonError(
      'BATON_ERR_DEPLOY_CONFIG',
      `Blue/green by DNS needs routers that can close keep-alive connections after the switch, so clients resolve the name again: the built-in one or HAProxy (router.kind). The ${ctx.router.kind} router cannot; nothing was started.`,
    );
  }
  const record: DeployRecord = {
    id: `${ctx.config.service}-${new Date(ctx.now()).toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`,
    to: candidate.version,
    candidate,
    strategy: ctx.config.strategy,
    steps,
    stepIndex: 0,
    traffic: hasStable ? 0 : 100,
    phase: 'running',
    startedAtMs: ctx.now(),
    by: ctx.origin.by ?? releaseCreator(process.env),
    via: ctx.origin.via,
  };
  if (ctx.origin.promotedFrom !== undefined) record.promotedFrom = ctx.origin.promotedFrom;
  if (ctx.origin.gates !== undefined) record.gates = ctx.origin.gates;
  if (hasStable && stable) record.from = stable.version;
  ctx.state.deploy = record;
  await ctx.save();
  await ctx.event('deploy-started', describeDeploy({ ...record, instances: ctx.config.instances }), {
    deployId: record.id,
    from: record.from,
    to: record.to,
    strategy: ctx.config.strategy.type,
    steps: steps.map((step) => describeStep(step, { candidate: record.to, stable: record.from })),
    // What runs, in the journal and the report: the pinned artifact (absent: the release runs in place).
    ...(candidate.artifact === undefined ? {} : { artifact: { kind: candidate.artifact.kind, digest: candidate.artifact.digest, source: candidate.artifact.source } }),
  });
  return record;
}
