export type { ConnectionStatus, KnownTransportKind, TransportKind } from './types.js';
export { CONNECTION_STATUSES, KNOWN_TRANSPORT_KINDS } from './types.js';

export { browserEnv, createEnv, type Env } from './env/env.js';
export {
	DecodeError,
	MutationError,
	TransportError,
	type TransportErrorCode,
	type TransportErrorOptions
} from './errors.js';

export type {
	Attempt,
	MessageMeta,
	OpenedInfo,
	SendOptions,
	Transport,
	TransportConnection,
	TransportHints,
	TransportSink
} from './transports/types.js';
export { polling, type PollingOptions } from './transports/polling.js';
export { sse, type SseOptions } from './transports/sse.js';
export { fallback, type FallbackOptions } from './transports/fallback.js';
export { websocket, type Ack, type WebSocketOptions } from './transports/websocket.js';
export { parseRetryAfter } from './transports/http.js';
export {
	EVENTS,
	HEARTBEAT_EVENTS,
	isMutationMessage,
	mutationMessage,
	readReply,
	reasonText,
	type AckMessage,
	type MutationMessage,
	type Reply
} from './protocol.js';

export {
	transition,
	initialMachineState,
	IDLE_CONNECTION_STATE,
	type Continuity,
	type ConnectionEffect,
	type ConnectionEvent,
	type ConnectionState,
	type MachineState,
	type TransitionContext
} from './connection/machine.js';
export {
	createConnection,
	type Connection,
	type ConnectionOptions,
	type QueuedSendOptions
} from './connection/connection.js';
export {
	retryDelay,
	resolveRetryOptions,
	defaultRetryOptions,
	type RetryOptions
} from './connection/retry.js';

export { defaultDecode, type Decoder, type RecordKey, type Update } from './store/decode.js';
export {
	applyUpdates,
	emptyList,
	listOf,
	type Batch,
	type List,
	type ListEntry,
	type ListEvent,
	type ListRules
} from './store/list.js';
export {
	createRecordStore,
	type Commit,
	type PendingChange,
	type RecordStore,
	type RecordStoreOptions,
	type RecordStoreSnapshot,
	type Row
} from './store/store.js';
export { createLiveSource, type LiveSourceHandle, type LiveSourceOptions } from './live-source.js';
