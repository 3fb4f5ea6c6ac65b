/**
 * Platform and product limits. API Gateway's numbers are hard platform facts; the product's
 * own caps keep a single connection or event from costing unbounded work.
 */

/** API Gateway WebSocket: maximum message payload (a larger frame closes the socket with 1009). */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** API Gateway WebSocket: idle timeout (no frames in either direction). */
export const IDLE_TIMEOUT_SECONDS = 10 * 60;
/** API Gateway WebSocket: maximum connection duration. */
export const MAX_CONNECTION_SECONDS = 2 * 60 * 60;
/** Connection records outlive the longest possible connection, so TTL only cleans leftovers. */
export const CONNECTION_TTL_SECONDS = MAX_CONNECTION_SECONDS + 10 * 60;
/** Recommended client keep-alive interval (an application `ping`, not a protocol ping frame). */
export const CLIENT_PING_INTERVAL_SECONDS = 8 * 60;

/** Longest accepted tenant id (token claim or event detail). */
export const MAX_TENANT_ID_LENGTH = 256;
/** Longest accepted user id (`sub`). */
export const MAX_USER_ID_LENGTH = 256;
/** Longest accepted JWT; anything larger is refused before it is parsed. */
export const MAX_TOKEN_LENGTH = 16 * 1024;
/** Most roles kept from a token. */
export const MAX_ROLES = 50;
/** Most subscription patterns one connection may hold. */
export const MAX_SUBSCRIPTIONS = 100;
/** Most `sources` one connection (or one `GET /events`) filters on. */
export const MAX_FILTER_SOURCES = 20;
/** Longest EventBridge `source` (EventBridge's own limit). */
export const MAX_SOURCE_LENGTH = 256;
/** Longest event type (EventBridge allows a detail-type of up to 128 characters). */
export const MAX_EVENT_TYPE_LENGTH = 128;
/** Latest accepted token `exp`: the end of year 9999 (later values are not valid dates). */
export const MAX_TOKEN_EXP_SECONDS = 253_402_300_799;
/** Longest `lastEventId` looked up, in UTF-8 bytes (well under DynamoDB's 1 KB sort-key limit). */
export const MAX_EVENT_ID_BYTES = 512;
/**
 * Most envelopes a resume sequence (one `resume` and its `more` continuations) sends the
 * connection, counted after its subscriptions and the events' audiences filter them (the
 * overlap window included); beyond it, `resume.error` with code `gap`.
 */
export const MAX_REPLAY_EVENTS = 1000;
/**
 * Most log entries one `GET /events` reads. Past it the answer is what was found so far, with
 * `more: true` and a `lastEventId` past what was read, so a narrow filter in a busy tenant pages
 * on instead of scanning the whole log in one request.
 */
export const MAX_POLL_SCAN_EVENTS = 5 * MAX_REPLAY_EVENTS;
/** Most envelopes one `resume` call replays (one page); `more: true` says to continue. */
export const REPLAY_PAGE_EVENTS = 100;
/**
 * Most event-log items one `resume` call reads, whatever the filters keep: a narrow
 * subscription in a busy tenant pages on (`more: true`) instead of reading without bound.
 */
export const REPLAY_SCAN_ITEMS_PER_CALL = 500;
/** Most event-log queries (each at most 1 MB, DynamoDB's page) one `resume` call makes. */
export const REPLAY_QUERIES_PER_CALL = 4;
/** Most event-log items a whole resume sequence reads; beyond it, `gap`. */
export const MAX_REPLAY_SCANNED_ITEMS = 10 * MAX_REPLAY_EVENTS;
/** `resume` calls one connection may make per window; beyond it, `resume.error` `rate_limited`. */
export const RESUME_RATE_LIMIT_CALLS = 12;
/** The resume rate limit's window (fixed windows of this many seconds). */
export const RESUME_RATE_LIMIT_WINDOW_SECONDS = 10;

/**
 * The broadcaster Lambda's timeout. An attempt to process an event (log it, read its
 * recipients, deliver, close the connections it failed on) ends within this time of its start,
 * which is the bound the replay overlap below relies on; the stack derives the timeout from it.
 */
export const BROADCASTER_TIMEOUT_SECONDS = 60;
/**
 * Margin for clocks of different Lambda hosts disagreeing, and for the tenant index's
 * propagation delay (a connection marked broken may stay visible to fan-out that long).
 */
export const CLOCK_SKEW_MARGIN_SECONDS = 10;
/**
 * How far before the first log position of the `lastEventId` a `resume` starts replaying.
 * Every broadcaster attempt logs the event at its own start time, before it reads recipients,
 * and a connection it fails to deliver to is closed within the same attempt; so an event a
 * connection did not receive is logged no earlier than (the position of the last event it did
 * receive) − (the attempt's duration, at most BROADCASTER_TIMEOUT_SECONDS) − clock skew.
 * Replaying from there re-sends some events the client has; clients drop them by `eventId`.
 */
export const REPLAY_OVERLAP_SECONDS = BROADCASTER_TIMEOUT_SECONDS + CLOCK_SKEW_MARGIN_SECONDS;

/** Shortest accepted HS256 key, from the environment or from Secrets Manager (RFC 7518: ≥ 256 bits). */
export const MIN_HS256_SECRET_LENGTH = 32;
/** Connections the sweeper handles at once (each: a conditional delete, a notice and a close). */
export const SWEEP_CONCURRENCY = 50;
/**
 * An event whose audience lists at most this many user ids (and no roles) reads those users'
 * connections from the user index; a larger or role-based audience reads the whole tenant.
 */
export const MAX_AUDIENCE_USER_LOOKUPS = 25;
/** Clock tolerance applied to `exp` and `nbf`. */
export const TOKEN_CLOCK_TOLERANCE_SECONDS = 5;
/** Connection records are spread over this many sweep partitions (GSI write sharding). */
export const SWEEP_SHARDS = 8;

/** Token claim holding the tenant id, unless configured otherwise. */
export const DEFAULT_TENANT_CLAIM = 'tenantId';
/** Token claim holding the user's roles (optional string array). */
export const ROLES_CLAIM = 'roles';
