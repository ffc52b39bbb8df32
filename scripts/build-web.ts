// Builds the web app at install time (npm's `prepare`), so the first `npm start` answers at once
// instead of building first. Skips the build when build/ is already newer than the sources.
import { ensureBuilt } from './app.ts';

ensureBuilt((m) => console.log(m));
