import { ApplicationFailure, Context } from '@temporalio/activity';
import { fetch, ProxyAgent } from 'undici';
import type { NotificationData } from '../../common/notification.js';
import { renderTemplate } from '../../common/webhook-template.js';

export interface WebhookSettings {
  url: string;
  /** Header name -> value; values are secrets (tokens) and never logged. */
  headers: Record<string, string>;
  template: string;
  proxy: string | undefined;
}

/** Statuses worth a retry: the receiver was busy or broken, not the request. */
const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

export function createWebhookActivities(settings: WebhookSettings | undefined) {
  const dispatcher = settings?.proxy ? new ProxyAgent(settings.proxy) : undefined;
  return {
    /** Posts one notification; retried by the activity's policy, refused requests fail for good. */
    sendWebhook: async (data: NotificationData): Promise<void> => {
      if (!settings) return;
      const ctx = Context.current();
      const response = await fetch(settings.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...settings.headers },
        body: renderTemplate(settings.template, data),
        signal: ctx.cancellationSignal,
        // A redirect would carry the secret headers to wherever the receiver points (undici drops
        // only Authorization and cookies across origins): a 3xx is a failed delivery instead.
        redirect: 'manual',
        ...(dispatcher ? { dispatcher } : {}),
      });
      await response.body?.cancel();
      if (response.status >= 300 && response.status < 400) {
        throw ApplicationFailure.create({
          type: 'WebhookRedirected',
          message: `webhook answered HTTP ${response.status} for event ${data.EventID}, redirecting to ${originOf(response.headers.get('location'), settings.url)}: redirects are not followed, so that the headers go nowhere else; set WEBHOOK_URL to the final address`,
          nonRetryable: true,
        });
      }
      if (response.ok) {
        ctx.log.info('webhook sent', { eventId: data.EventID, status: response.status });
        return;
      }
      // The URL may carry a token (Slack, Chime): name the status, never the URL or headers.
      throw ApplicationFailure.create({
        type: 'WebhookRejected',
        message: `webhook answered HTTP ${response.status} for event ${data.EventID}`,
        nonRetryable: !retryable(response.status),
      });
    },
  };
}

/** Where a redirect points, its origin only: a path or query may carry a token. */
function originOf(location: string | null, base: string): string {
  if (!location) return 'nowhere (no Location)';
  try {
    return new URL(location, base).origin;
  } catch {
    return 'an invalid Location';
  }
}
