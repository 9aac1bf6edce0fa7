export {
	createEventLog,
	sseResponse,
	type EventLog,
	type EventLogOptions,
	type LoggedEvent,
	type SseEvent,
	type SseResponseOptions
} from './sse.js';
