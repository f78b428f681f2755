import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { root } from './tools.js';

/** The IAM prefix of each AWS SDK v3 client package the service may import. */
const iamPrefix: Record<string, string> = { sqs: 'sqs', ec2: 'ec2', 'auto-scaling': 'autoscaling' };

/** SQS authorizes a batch call by the single action: DeleteMessageBatch needs sqs:DeleteMessage. */
const action = (service: string, operation: string) =>
  `${iamPrefix[service]}:${service === 'sqs' ? operation.replace(/Batch$/, '') : operation}`;

interface Finding {
  action: string;
  where: string;
}

/**
 * Every AWS call the shipped code can make, from its imports of `@aws-sdk/client-*`: each `XCommand`
 * (or `paginateX`) means the action X. Anything else imported from those packages as a value, other
 * than clients and error classes, fails the scan: an aggregated client (`new SQS()`) or a waiter would
 * call actions this scan cannot see.
 */
function awsActionsInCode(): { found: Finding[]; unknown: string[] } {
  const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
  const files = tsconfig.include.flatMap((folder) =>
    (readdirSync(join(root, folder), { recursive: true }) as string[])
      .filter((file) => file.endsWith('.ts'))
      .map((file) => join(root, folder, file)),
  );
  const found: Finding[] = [];
  const unknown: string[] = [];
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
    for (const statement of source.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
      const client = /^@aws-sdk\/client-(.+)$/.exec(statement.moduleSpecifier.text)?.[1];
      const clause = statement.importClause;
      if (client === undefined || !clause || clause.isTypeOnly) continue;
      const where = relative(root, file);
      if (!(client in iamPrefix)) unknown.push(`${where}: @aws-sdk/client-${client} (no IAM prefix known)`);
      const bindings = clause.namedBindings;
      if (clause.name || (bindings && ts.isNamespaceImport(bindings)))
        unknown.push(`${where}: default/namespace import`);
      if (!bindings || !ts.isNamedImports(bindings)) continue;
      for (const element of bindings.elements) {
        if (element.isTypeOnly) continue;
        const name = (element.propertyName ?? element.name).text;
        const operation = /^(\w+)Command$/.exec(name)?.[1] ?? /^paginate(\w+)$/.exec(name)?.[1];
        if (operation) found.push({ action: action(client, operation), where });
        else if (!/(Client|ServiceException|Exception|Fault)$/.test(name)) unknown.push(`${where}: ${name}`);
      }
    }
  }
  return { found, unknown };
}

function policyActions(): string[] {
  const policy = JSON.parse(readFileSync(join(root, 'deploy/iam-policy.json'), 'utf8')) as {
    Version: string;
    Statement: { Effect: string; Action: string | string[]; Resource: unknown }[];
  };
  assert.equal(policy.Version, '2012-10-17');
  for (const statement of policy.Statement) assert.equal(statement.Effect, 'Allow');
  return policy.Statement.flatMap((statement) => statement.Action);
}

describe('deploy/iam-policy.json: exactly the AWS actions the service calls', () => {
  const { found, unknown } = awsActionsInCode();
  const needed = [...new Set(found.map((f) => f.action))].sort();

  it('finds every AWS call in the shipped code as an imported Command class', () => {
    assert.deepEqual(unknown, [], 'imports from the AWS SDK whose IAM actions this scan cannot tell');
    // The scan must see the calls the service is known to make, or it proves nothing.
    for (const known of ['sqs:ReceiveMessage', 'ec2:DescribeInstances', 'autoscaling:CompleteLifecycleAction'])
      assert.ok(needed.includes(known), `the scan finds ${known}`);
  });

  it('grants every action the code calls', () => {
    const granted = policyActions();
    const missing = found.filter((f) => !granted.includes(f.action)).map((f) => `${f.action} (${f.where})`);
    assert.deepEqual(missing, [], 'actions the code calls that the policy does not grant');
  });

  it('grants nothing the code does not call, and no wildcards', () => {
    const granted = policyActions();
    assert.deepEqual(
      granted.filter((a) => !needed.includes(a)),
      [],
      'actions the policy grants that no code calls',
    );
    assert.ok(!granted.some((a) => a.includes('*')));
    assert.equal(new Set(granted).size, granted.length, 'each action once');
  });

  it('includes the heartbeat and hook lookup that NTH documented policy forgets', () => {
    const granted = policyActions();
    assert.ok(granted.includes('autoscaling:RecordLifecycleActionHeartbeat'));
    assert.ok(granted.includes('autoscaling:DescribeLifecycleHooks'));
  });

  it('is the policy deploy/README.md shows', () => {
    const readme = readFileSync(join(root, 'deploy/README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as unknown);
    const policy = JSON.parse(readFileSync(join(root, 'deploy/iam-policy.json'), 'utf8')) as unknown;
    assert.ok(
      blocks.some((block) => JSON.stringify(block) === JSON.stringify(policy)),
      'a ```json block of deploy/README.md equals deploy/iam-policy.json',
    );
  });
});

describe('deploy/iam/: one policy per process, each with only the calls of its own code', () => {
  const read = (path: string) =>
    JSON.parse(readFileSync(join(root, path), 'utf8')) as { Statement: { Sid: string; Action: string[] }[] };
  /** Code under these folders runs in that process: the worker's activities, the starter's intake. */
  const folders = { worker: ['activities/', 'worker/'], starter: ['starter/'] };

  for (const [process, under] of Object.entries(folders)) {
    it(`deploy/iam/${process}-policy.json grants exactly what ${under.join(' and ')} call`, () => {
      const calls = new Set(
        awsActionsInCode()
          .found.filter((f) => under.some((folder) => f.where.startsWith(folder)))
          .map((f) => f.action),
      );
      const granted = read(`deploy/iam/${process}-policy.json`).Statement.flatMap((s) => s.Action);
      assert.deepEqual([...granted].sort(), [...calls].sort());
    });
  }

  it('splits deploy/iam-policy.json between the two, statement by statement', () => {
    const whole = read('deploy/iam-policy.json').Statement;
    const parts = [
      ...read('deploy/iam/worker-policy.json').Statement,
      ...read('deploy/iam/starter-policy.json').Statement,
    ];
    const bySid = (statements: { Sid: string }[]) => [...statements].sort((a, b) => a.Sid.localeCompare(b.Sid));
    assert.deepEqual(bySid(parts), bySid(whole));
    const common = awsActionsInCode().found.filter(
      (f) =>
        !Object.values(folders)
          .flat()
          .some((d) => f.where.startsWith(d)),
    );
    assert.deepEqual(common, [], "AWS calls outside both processes' folders: which policy grants them?");
  });
});
