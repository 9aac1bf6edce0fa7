import { addons } from 'storybook/manager-api';
import { create } from 'storybook/theming';

/** The kit's accent (the timeline's `--srk-timeline-accent` in light mode) and its text colour. */
const accent = '#2563eb';
const ink = '#0f172a';

/** The mark: a live dot with its signal, white on the accent; then the name. */
const wordmark = `<svg xmlns="http://www.w3.org/2000/svg" width="190" height="24" viewBox="0 0 190 24">
<rect x="0" y="2" width="20" height="20" rx="5" fill="${accent}"/>
<circle cx="10" cy="12" r="2.6" fill="#fff"/>
<path d="M6.2 7.8a6 6 0 0 0 0 8.4M13.8 7.8a6 6 0 0 1 0 8.4" fill="none" stroke="#fff" stroke-width="1.7" stroke-linecap="round"/>
<text x="28" y="17" textLength="160" lengthAdjust="spacingAndGlyphs" fill="${ink}" font-family="Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="14.5" font-weight="600">svelte-realtime-kit</text>
</svg>`;

addons.setConfig({
	theme: create({
		base: 'light',
		brandTitle: 'svelte-realtime-kit',
		brandUrl: 'https://github.com/svelte-realtime-kit/svelte-realtime-kit',
		brandTarget: '_blank',
		brandImage: `data:image/svg+xml,${encodeURIComponent(wordmark)}`,
		colorPrimary: accent,
		colorSecondary: accent,
		textColor: ink,
		barSelectedColor: accent,
		fontCode: "ui-monospace, 'SFMono-Regular', 'DejaVu Sans Mono', Menlo, Consolas, monospace"
	})
});
