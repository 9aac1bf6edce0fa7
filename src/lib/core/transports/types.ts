import type { Env } from '../env/env.js';
import type { DecodeError, TransportError } from '../errors.js';
import type { TransportKind } from '../types.js';

/** What an attempt learned when it opened. */
export interface OpenedInfo {
	/**
	 * The server proved that nothing was missed since the last attempt (it resumed from
	 * `Last-Event-ID`, or every message is a full snapshot). Without it the engine resyncs.
	 */
	resumed?: boolean;
	/** The transport that is now live, when it differs from the adapter's own kind (a fallback chain). */
	transport?: TransportKind;
	/** Running on a fallback rather than the preferred transport. */
	degraded?: boolean;
	/** The live transport can send (its connection has `send`). */
	bidirectional?: boolean;
}

/** Metadata of one message. */
export interface MessageMeta {
	/** The server's event id (SSE `id:`); duplicates are dropped by the store. */
	id?: string;
	/** The event type or name (SSE `event:`, a socket event name). */
	event?: string;
	/**
	 * The adapter already decoded the payload (a WebSocket text frame parsed as JSON): the default
	 * decoder takes it as it is and never parses a string again.
	 */
	decoded?: boolean;
	/**
	 * An HTTP validator (`ETag`) of the data this message carries. The connection keeps it with the
	 * data it fed, hands it to the next attempt as {@link Attempt.validator}, and forgets it as soon as
	 * a message without one arrives: a conditional request is only ever validated against data this
	 * connection's store really has.
	 */
	validator?: string;
}

/** Hints from the server about timing. */
export interface TransportHints {
	/** The server's reconnection delay (SSE `retry:`), in milliseconds. */
	retryMs?: number;
	/** How long silence is normal on this transport (a polling interval), in milliseconds. */
	silenceMs?: number;
	/**
	 * The server's heartbeat interval, in milliseconds (`sseResponse` announces it in its `ping`
	 * events). The connection then counts as stale after 1.5 intervals without a byte, or after
	 * `staleAfter` if that is sooner.
	 */
	heartbeatMs?: number;
	/**
	 * The stream's last event id moved without a message (an SSE block with an `id:` field and no
	 * data); `''` resets it. The next attempt resumes from it.
	 */
	lastEventId?: string;
}

/** Where an attempt reports what happens. Calls after the attempt was closed are ignored. */
export interface TransportSink<In = unknown> {
	/** Connected; data may follow. */
	opened(info?: OpenedInfo): void;
	message(data: In, meta?: MessageMeta): void;
	/** Proof of liveness without data (an SSE comment, a pong, a 304). */
	heartbeat(): void;
	hint(hints: TransportHints): void;
	/**
	 * A message was dropped before it reached the store (over a size limit, or undecodable); the
	 * connection goes on. It is counted and reported like any malformed message.
	 */
	dropped(error: DecodeError): void;
	/** The attempt failed; the engine decides whether and when to try again. */
	failed(error: TransportError): void;
	/** The server ended the attempt cleanly. `final` (HTTP 204) means: do not come back. */
	ended(info?: { final?: boolean }): void;
}

/** One attempt's context. */
export interface Attempt {
	/** 1 for the first attempt after a start or a reset. */
	n: number;
	/** The last event id seen on this connection, for resuming. */
	lastEventId: string | undefined;
	/**
	 * The validator of the last message this connection received (see {@link MessageMeta.validator});
	 * undefined on a new connection, or after data arrived without one.
	 */
	validator?: string;
	/**
	 * Aborted when the attempt is closed or superseded. When the engine drops the attempt because of
	 * a failure it saw itself (silence), `signal.reason` is that `TransportError`.
	 */
	signal: AbortSignal;
	env: Env;
}

export interface SendOptions {
	/**
	 * Wait for the server's acknowledgement: the promise resolves with its reply, and rejects on a
	 * negative reply, a timeout or a lost connection.
	 * @defaultValue `false`
	 */
	ack?: boolean;
	/** How long to wait for the acknowledgement (milliseconds). @defaultValue the transport's */
	timeoutMs?: number;
}

/** A live attempt, as returned by `open`. */
export interface TransportConnection<Out = never> {
	/** Ends the attempt: releases its sockets, requests, timers and listeners. Idempotent. */
	close(): void;
	/** Sends a message on a two-way transport; resolves with the server's acknowledgement. */
	send?(data: Out, options?: SendOptions): Promise<unknown>;
}

/**
 * A way to reach the server. It opens ONE attempt and reports what happens to the sink; it never
 * retries, and keeps no timer or listener beyond its attempt. Retrying is the engine's job.
 */
export interface Transport<In = unknown, Out = never> {
	readonly kind: TransportKind;
	/** Its connections can send (WebSocket, socket.io; a chain with such a member). */
	readonly bidirectional?: boolean;
	/**
	 * What decides what this transport receives (its URL and options), as JSON-serializable data.
	 * Tabs that share a connection (`share`) do so only when their transports' kinds and
	 * identities match; callbacks are left out. Without one, sharing needs a `shareKey`.
	 */
	readonly identity?: unknown;
	/** False where this transport cannot run (a fallback chain skips it). */
	supported?(env: Env): boolean;
	open(sink: TransportSink<In>, attempt: Attempt): TransportConnection<Out>;
}
