import assert from 'node:assert/strict';
import { defaultTaskQueue } from '../../common/names.js';
import { ConfigError, loadStarterConfig } from '../../starter/config.js';

/** CLUSTER_NAME, which every process needs. */
const cluster = { CLUSTER_NAME: 'prod-a' };

const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/tnth';

describe('starter: configuration from the environment', () => {
  it('fills in defaults for everything but QUEUE_URL', () => {
    const config = loadStarterConfig({ ...cluster, QUEUE_URL: queueUrl });
    assert.equal(config.TEMPORAL_TASK_QUEUE, `${defaultTaskQueue}-prod-a`, 'the cluster names the task queue');
    assert.equal(config.STARTER_POLLERS, 4);
    assert.equal(config.ENABLE_PROMETHEUS_SERVER, false);
    assert.equal(config.PROMETHEUS_SERVER_PORT, 9092);
  });

  it('refuses to start without QUEUE_URL, naming it', () => {
    assert.throws(
      () => loadStarterConfig(cluster),
      (error: Error) => error instanceof ConfigError && /QUEUE_URL: required/.test(error.message),
    );
  });

  it('names every bad variable and its rule', () => {
    assert.throws(
      () =>
        loadStarterConfig({
          ...cluster,
          QUEUE_URL: 'not a url',
          STARTER_POLLERS: 'four',
          ENABLE_PROMETHEUS_SERVER: 'yes',
          PROMETHEUS_SERVER_PORT: '70000',
          AWS_REGION: 'Virginia',
        }),
      (error: Error) => {
        for (const name of [
          'QUEUE_URL',
          'STARTER_POLLERS',
          'ENABLE_PROMETHEUS_SERVER',
          'PROMETHEUS_SERVER_PORT',
          'AWS_REGION',
        ]) {
          assert.match(error.message, new RegExp(`${name}=`));
        }
        assert.match(error.message, /"four"/);
        return true;
      },
    );
  });

  it('reads numbers and booleans from their text', () => {
    const config = loadStarterConfig({
      ...cluster,
      QUEUE_URL: queueUrl,
      STARTER_POLLERS: '8',
      ENABLE_PROMETHEUS_SERVER: 'true',
      PROMETHEUS_SERVER_PORT: '9100',
    });
    assert.equal(config.STARTER_POLLERS, 8);
    assert.equal(config.ENABLE_PROMETHEUS_SERVER, true);
    assert.equal(config.PROMETHEUS_SERVER_PORT, 9100);
  });
});
