/**
 * Connection lifecycle: the sweeper, on a one-minute schedule, closes pending connections past
 * their auth deadline and sessions whose token expired.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { Handler } from '../../lambdas/contract/index.js';
import type { HandlerFunctionFactory, NodeFunction } from './node-function.js';

export interface ConnectionLifecycleProps {
  /**
   * Builds the sweeper function (its environment and grants are the caller's); this construct
   * sizes it and schedules it.
   */
  readonly sweeper: HandlerFunctionFactory;
}

export class ConnectionLifecycle extends Construct {
  public readonly sweeper: NodeFunction;
  public readonly sweepSchedule: events.Rule;

  constructor(scope: Construct, id: string, props: ConnectionLifecycleProps) {
    super(scope, id);

    this.sweeper = props.sweeper(this, 'Sweeper', { timeout: Duration.seconds(60) });
    if (this.sweeper.handlerName !== Handler.sweeper) {
      throw new Error(
        `ConnectionLifecycle: the sweeper must run the "${Handler.sweeper}" handler, got "${this.sweeper.handlerName}"`,
      );
    }
    // The next run, a minute later, is the retry.
    this.sweeper.function.configureAsyncInvoke({ retryAttempts: 0 });

    this.sweepSchedule = new events.Rule(this, 'SweepSchedule', {
      description: 'Runs the connection sweeper every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [
        new targets.LambdaFunction(this.sweeper.function, { retryAttempts: 0, maxEventAge: Duration.minutes(1) }),
      ],
    });
  }
}
