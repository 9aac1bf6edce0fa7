// Installed before any page script (p5-leaks.js passes it to `page.addInitScript`): wraps the timer
// functions, requestAnimationFrame, EventSource and WebSocket to track what is pending or open.
// Self-contained: Playwright serialises the function.
export function track() {
	const w = /** @type {any} */ (window);
	const orig = {
		setTimeout: window.setTimeout.bind(window),
		clearTimeout: window.clearTimeout.bind(window),
		setInterval: window.setInterval.bind(window),
		clearInterval: window.clearInterval.bind(window),
		requestAnimationFrame: window.requestAnimationFrame.bind(window),
		cancelAnimationFrame: window.cancelAnimationFrame.bind(window)
	};
	/** Timeouts and intervals share one id space (either clear function clears either). */
	const timers = new Map();
	const frames = new Map();
	const sockets = new Set();
	const where = () => String(new Error().stack).split('\n').slice(3, 6).join(' / ');

	w.setTimeout = (
		/** @type {any} */ fn,
		/** @type {number} */ ms,
		/** @type {any[]} */ ...args
	) => {
		const id = orig.setTimeout(() => {
			timers.delete(id);
			if (typeof fn === 'function') fn(...args);
		}, ms);
		timers.set(id, { kind: 'timeout', ms, at: where() });
		return id;
	};
	w.setInterval = (
		/** @type {any} */ fn,
		/** @type {number} */ ms,
		/** @type {any[]} */ ...args
	) => {
		const id = orig.setInterval(() => {
			if (typeof fn === 'function') fn(...args);
		}, ms);
		timers.set(id, { kind: 'interval', ms, at: where() });
		return id;
	};
	w.clearTimeout = w.clearInterval = (/** @type {number} */ id) => {
		timers.delete(id);
		orig.clearTimeout(id);
	};
	w.requestAnimationFrame = (/** @type {FrameRequestCallback} */ callback) => {
		const id = orig.requestAnimationFrame((time) => {
			frames.delete(id);
			callback(time);
		});
		frames.set(id, { kind: 'frame', at: where() });
		return id;
	};
	w.cancelAnimationFrame = (/** @type {number} */ id) => {
		frames.delete(id);
		orig.cancelAnimationFrame(id);
	};

	/** @param {any} Base */
	const tracked = (Base) =>
		class extends Base {
			/** @param {any[]} args */
			constructor(...args) {
				super(...args);
				sockets.add(this);
			}
			close(/** @type {any[]} */ ...args) {
				sockets.delete(this);
				return super.close(...args);
			}
		};
	w.EventSource = tracked(window.EventSource);
	w.WebSocket = tracked(window.WebSocket);

	w.tracker = {
		orig,
		/** What is pending or open now. */
		snapshot() {
			// A connection the browser closed by itself (readyState CLOSED) is not open.
			for (const socket of sockets)
				if (socket.readyState === 2 || socket.readyState === 3) sockets.delete(socket);
			const list = [...timers.values(), ...frames.values()];
			return {
				timeouts: list.filter((t) => t.kind === 'timeout').length,
				intervals: list.filter((t) => t.kind === 'interval').length,
				frames: frames.size,
				connections: sockets.size,
				details: list.map((t) => `${t.kind}${t.ms === undefined ? '' : ` ${t.ms} ms`} at ${t.at}`)
			};
		}
	};
}
