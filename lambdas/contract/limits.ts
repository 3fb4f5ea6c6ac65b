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
/** Longest event type (EventBridge allows a detail-type of up to 128 characters). */
export const MAX_EVENT_TYPE_LENGTH = 128;
/** Latest accepted token `exp`: the end of year 9999 (later values are not valid dates). */
export const MAX_TOKEN_EXP_SECONDS = 253_402_300_799;
/** Longest `lastEventId` looked up, in UTF-8 bytes (well under DynamoDB's 1 KB sort-key limit). */
export const MAX_EVENT_ID_BYTES = 512;
/** Most events one `resume` replays; a longer gap answers `resume.error` with code `gap`. */
export const MAX_REPLAY_EVENTS = 1000;
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
