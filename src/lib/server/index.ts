export {
	createEventLog,
	sseResponse,
	type EventLog,
	type EventLogOptions,
	type LoggedEvent,
	type MemoryEventLog,
	type Replay,
	type SseEvent,
	type SseResponseOptions
} from './sse.js';
