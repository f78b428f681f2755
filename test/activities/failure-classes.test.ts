import assert from 'node:assert/strict';
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { awsFailure } from '../../activities/aws/errors.js';
import { hasCause, kubeFailure } from '../../activities/kubernetes/client.js';

const apiError = (code: number, body: unknown = {}) => new ApiException(code, 'failed', JSON.stringify(body), {});
const awsError = (name: string) => Object.assign(new Error('message'), { name, $metadata: { httpStatusCode: 400 } });

describe('failures: what no retry can change fails at once, the rest is retried', () => {
  it('makes the API server 400, 403 and 422 permanent, and retries 401, 429, 5xx and no answer at all', () => {
    for (const code of [400, 403, 422]) {
      const failure = kubeFailure('cordoning node n', apiError(code));
      assert.ok(failure instanceof ApplicationFailure && failure.nonRetryable, `${code}`);
      assert.equal(failure.type, 'KubernetesRequestRefused');
    }
    for (const code of [401, 429, 500, 503]) {
      const failure = kubeFailure('cordoning node n', apiError(code));
      assert.ok(!(failure instanceof ApplicationFailure && failure.nonRetryable), `${code}`);
    }
    const unreachable = kubeFailure(
      'listing pods',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    );
    assert.ok(unreachable instanceof ApplicationFailure && !unreachable.nonRetryable);
    assert.equal(unreachable.type, 'KubernetesUnreachable');
    assert.match(unreachable.message, /^listing pods: connect ECONNREFUSED/);
  });

  it("reads the API server's causes: a namespace being deleted", () => {
    const terminating = apiError(403, { details: { causes: [{ reason: 'NamespaceTerminating' }] } });
    assert.equal(hasCause(terminating, 'NamespaceTerminating'), true);
    assert.equal(hasCause(apiError(403), 'NamespaceTerminating'), false);
  });

  it('makes AWS access and validation errors permanent, and retries throttling and credential errors', () => {
    for (const code of ['AccessDenied', 'UnauthorizedOperation', 'ValidationError', 'InvalidParameterValue']) {
      const failure = awsFailure('describing instance i-1', awsError(code));
      assert.ok(failure instanceof ApplicationFailure && failure.nonRetryable, code);
    }
    for (const code of ['RequestLimitExceeded', 'Throttling', 'AuthFailure', 'ExpiredToken', 'InternalError']) {
      const failure = awsFailure('describing instance i-1', awsError(code));
      assert.ok(!(failure instanceof ApplicationFailure), code);
    }
  });
});
