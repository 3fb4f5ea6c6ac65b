/**
 * The price table `npm run cost` uses: AWS list prices for US East (N. Virginia), on-demand, no
 * free tier, first pricing tier. Dated: re-check the pages named in `source` before budgeting,
 * and update `PRICES_AS_OF` with any change.
 */

export const PRICES_AS_OF = '2026-12-02';
export const PRICES_REGION = 'us-east-1';

export interface Price {
  /** US dollars per `per` units. */
  readonly usd: number;
  readonly per: number;
  readonly unit: string;
  readonly source: string;
}

const million = 1_000_000;

export const PRICES = {
  wsMessages: {
    usd: 1.0,
    per: million,
    unit: 'WebSocket messages (32 KB units), first 1 billion',
    source: 'aws.amazon.com/api-gateway/pricing (WebSocket APIs)',
  },
  wsConnectionMinutes: {
    usd: 0.25,
    per: million,
    unit: 'WebSocket connection-minutes',
    source: 'aws.amazon.com/api-gateway/pricing (WebSocket APIs)',
  },
  httpRequests: {
    usd: 1.0,
    per: million,
    unit: 'HTTP API requests (512 KB units), first 300 million',
    source: 'aws.amazon.com/api-gateway/pricing (HTTP APIs)',
  },
  lambdaRequests: {
    usd: 0.2,
    per: million,
    unit: 'Lambda requests',
    source: 'aws.amazon.com/lambda/pricing',
  },
  lambdaGbSecondsArm: {
    usd: 0.0000133334,
    per: 1,
    unit: 'Lambda GB-seconds, Arm (first 7.5 billion GB-s)',
    source: 'aws.amazon.com/lambda/pricing',
  },
  dynamoWriteUnits: {
    usd: 0.625,
    per: million,
    unit: 'DynamoDB on-demand write request units',
    source: 'aws.amazon.com/dynamodb/pricing/on-demand',
  },
  dynamoReadUnits: {
    usd: 0.125,
    per: million,
    unit: 'DynamoDB on-demand read request units',
    source: 'aws.amazon.com/dynamodb/pricing/on-demand',
  },
  eventBridgeEvents: {
    usd: 1.0,
    per: million,
    unit: 'EventBridge custom events published (64 KB units)',
    source: 'aws.amazon.com/eventbridge/pricing',
  },
  sqsRequests: {
    usd: 0.4,
    per: million,
    unit: 'SQS standard requests (64 KB units)',
    source: 'aws.amazon.com/sqs/pricing',
  },
  appSyncEventsOperations: {
    usd: 1.0,
    per: million,
    unit: 'AppSync Events operations (connect, subscribe, publish, each message delivered; 5 KB units)',
    source: 'aws.amazon.com/appsync/pricing (AppSync Events)',
  },
  appSyncEventsConnectionMinutes: {
    usd: 0.08,
    per: million,
    unit: 'AppSync Events connection-minutes',
    source: 'aws.amazon.com/appsync/pricing (AppSync Events)',
  },
} as const satisfies Record<string, Price>;

export type PriceName = keyof typeof PRICES;

/** The cost of `quantity` units at `price`. */
export function priced(price: Price, quantity: number): number {
  return (quantity / price.per) * price.usd;
}
