/**
 * How the agent pools roll a change through running agents, shared by the
 * cloud targets that configure it (aws.ts: the auto scaling group's instance
 * refresh; azure.ts: the scale set's rolling upgrade policy) and by plan-diff,
 * which tells reviewers what a pool change will do. No provider classes here,
 * so plan-diff can read these without loading a provider.
 */

/** Share of a scale set a rolling upgrade takes at a time (at most a third). */
export const POOL_MAX_BATCH_PERCENT = 34;
/** Share of a pool an instance refresh keeps in service (at most a third replaced at a time). */
export const POOL_MIN_HEALTHY_PERCENT = 66;
/** Seconds a refreshed instance gets before the next batch: boot, reboot into cgroup v1, image pulls. */
export const POOL_WARMUP_SECONDS = 600;
