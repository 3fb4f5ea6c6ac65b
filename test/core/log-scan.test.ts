/** The in-memory event log's bounded reads behave like DynamoEventLog's (same contract suite). */
import { InMemoryEventLog } from './fakes.js';
import { eventLogScanContract } from './log-scan-contract.js';

eventLogScanContract('InMemoryEventLog', () => new InMemoryEventLog());
