export type { ConnectionStatus, KnownTransportKind, TransportKind } from './types.js';
export { CONNECTION_STATUSES, KNOWN_TRANSPORT_KINDS } from './types.js';
