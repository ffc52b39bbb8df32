import type { HeyGenClient } from '../heygen/index.ts';
import type { WebhookApi } from '../heygen/webhooks.ts';
import type { JobStore } from './job-store.ts';
import type { Logger } from '../log/logger.ts';
import type { VideoStorage } from '../storage/index.ts';

export interface PipelineSettings {
	pollInitialMs: number;
	pollMaxMs: number;
	/** First delay after a transient error (HeyGen 5xx, timeouts, a download not ready yet). */
	retryBaseMs: number;
	retryMaxMs: number;
	/** HeyGen generate calls per attempt of a job before it fails. */
	maxSubmits: number;
	/** Download attempts per attempt of a job before it fails. */
	maxTransfers: number;
	/** A download that delivers no bytes for this long is abandoned and retried. */
	downloadStallMs: number;
	/** How long a job waiting for a free render slot sleeps before it looks again (a freed slot wakes it sooner). */
	slotWaitMs: number;
	/** A paused business (HeyGen said 402 or 401) is probed at GET /v3/users/me after this long, then with doubling gaps. */
	pauseProbeMs: number;
	/** The longest gap between two probes of a paused business. */
	pauseProbeMaxMs: number;
	/** The HeyGen API origin; downloads from it may be plain http on a private address (the simulator). */
	trustedOrigin?: string;
	/** Where HeyGen should send webhooks; omitted when the app is not reachable from outside. */
	callbackUrl?: string;
	/** The app's public URL (ORIGIN); without it no webhook endpoint is registered. */
	publicUrl?: string;
	/**
	 * A business whose webhook has been silent this long while it has jobs rendering that long has
	 * HeyGen's event history read (worker/webhook-catch-up.ts). Default WEBHOOK_SILENCE_MS.
	 */
	webhookSilenceMs?: number;
}

export interface PipelineContext {
	store: JobStore;
	heygen: (apiKey: string) => HeyGenClient;
	/** HeyGen's webhook endpoint API for a key; absent = never register. */
	webhooks?: (apiKey: string) => WebhookApi;
	storage: VideoStorage;
	log: Logger;
	settings: PipelineSettings;
}
