import { proxySinks, type Sinks } from '@temporalio/workflow';

/**
 * What a workflow tells its worker of a lifecycle action no loop holds while the loop waits for its
 * start (`tnth_lifecycle_hook_seconds_left` shows the action meanwhile). A sink: not in the history,
 * not called in replay.
 */
export interface HoldSinks extends Sinks {
  holds: {
    /** Action `key` expires at `expiresAt`; its loop starts at `loopStartsAt`. */
    waiting(key: string, hook: string, expiresAt: number, loopStartsAt: number): void;
    /** The wait of `key` is over: its loop started, or its phase ended first. */
    over(key: string): void;
  };
}

export const { holds: holdSinks } = proxySinks<HoldSinks>();
