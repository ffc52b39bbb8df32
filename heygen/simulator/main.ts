/**
 * Start the HeyGen simulator for manual use:
 *   npm run simulator -- [--port 4010] [--host 127.0.0.1] [--render-ms 5000] [--key extra-key]
 * Prints the URL and the API key, then runs until Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_SIM_KEY, startHeyGenSimulator } from './server.ts';

const { values } = parseArgs({
	options: {
		port: { type: 'string', default: '0' },
		host: { type: 'string', default: '127.0.0.1' },
		'render-ms': { type: 'string', default: '5000' },
		key: { type: 'string', multiple: true },
		help: { type: 'boolean', short: 'h', default: false }
	}
});

if (values.help) {
	console.log('Usage: npm run simulator -- [--port N] [--host H] [--render-ms MS] [--key KEY]...');
	process.exit(0);
}

const port = Number(values.port);
const renderMs = Number(values['render-ms']);
if (!Number.isInteger(port) || port < 0 || !Number.isFinite(renderMs) || renderMs < 0) {
	console.error('--port and --render-ms must be non-negative numbers');
	process.exit(2);
}

const sim = await startHeyGenSimulator({
	port,
	host: values.host,
	renderMs,
	validKeys: [DEFAULT_SIM_KEY, ...(values.key ?? [])]
});
console.log(`HeyGen simulator listening on ${sim.url}`);
console.log(`  HEYGEN_API_URL=${sim.url}  api key: ${DEFAULT_SIM_KEY}  render: ${renderMs} ms`);

const stop = () => {
	void sim.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
