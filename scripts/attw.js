// Are the Types Wrong? on the tarball `npm pack` makes. It is packed here with --ignore-scripts:
// this runs inside `npm run package`, which `prepack` runs, so `attw --pack` would start it again;
// and with --dry-run=false, since `npm pack --dry-run` runs prepack with npm_config_dry_run set.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'srk-attw-'));
try {
	const [{ filename }] = JSON.parse(
		execFileSync(
			'npm',
			['pack', '--json', '--ignore-scripts', '--dry-run=false', '--pack-destination', dir],
			{
				encoding: 'utf8'
			}
		)
	);
	execFileSync(
		'npx',
		[
			'attw',
			join(dir, filename),
			'--profile',
			'esm-only',
			'--ignore-rules',
			'internal-resolution-error'
		],
		{ stdio: 'inherit' }
	);
} catch (error) {
	// attw has printed its report; npm's own errors carry their output.
	if (error instanceof Error && 'stderr' in error && error.stderr)
		console.error(String(error.stderr));
	process.exitCode = 1;
} finally {
	rmSync(dir, { recursive: true, force: true });
}
