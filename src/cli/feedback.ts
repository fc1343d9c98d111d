// `rlhf feedback …`: the labeling service's admin work from a terminal, straight on the database:
// projects, labelers and their sign-in links, task import, export for the trainers, statistics.

import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { readTextFile } from '../data/jsonl.js';
import {
  EXPORT_FORMATS,
  type ExportFormat,
  ImportError,
  type ImportFormat,
  type ParsedImport,
  exportProject,
  goldNote,
  parseImport,
  projectStatsWithThroughput,
  signInLink,
  statsTable,
} from '../feedback/server/index.js';
import { openStore } from '../feedback/store/open.js';
import {
  type FeedbackStore,
  type Project,
  type Role,
  TASK_KINDS,
  type TaskKind,
  type User,
} from '../feedback/store/types.js';
import { choiceArg, intArg } from './args.js';

/** The store `rlhf serve` and `rlhf feedback …` open when --database is not given. */
export const DEFAULT_DB = 'feedback.db';

async function withStore<T>(location: string, f: (store: FeedbackStore) => Promise<T>): Promise<T> {
  const store = await openStore(location);
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

/** A user by id or name, or an error naming the option. */
async function findUser(store: FeedbackStore, ref: string): Promise<User> {
  const users = await store.listUsers();
  const u = users.find((x) => (/^\d+$/.test(ref) ? x.id === Number(ref) : x.name === ref));
  if (!u)
    throw new Error(
      `--user ${ref}: no such user; the store has ` +
        `${
          users.map((x) => `${x.id} ${JSON.stringify(x.name)}`).join(', ') ||
          'none (create one with `rlhf feedback add-labeler`)'
        }`,
    );
  return u;
}

/** A project by id or name, or an error naming the option. */
async function findProject(store: FeedbackStore, ref: string): Promise<Project> {
  const all = await store.listProjects();
  const p = /^\d+$/.test(ref) ? all.find((x) => x.id === Number(ref)) : all.find((x) => x.name === ref);
  if (!p)
    throw new Error(
      `--project ${ref}: no such project; the store has ` +
        `${
          all.map((x) => `${x.id} ${JSON.stringify(x.name)}`).join(', ') ||
          'none (create one with `rlhf feedback create-project`)'
        }`,
    );
  return p;
}

/** ", 3 thumbs, 2 likert" for an import of other kinds than pairs only. */
const kindCounts = (p: ParsedImport) =>
  Object.keys(p.kinds).some((k) => k !== 'pair')
    ? `, ${Object.entries(p.kinds)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ')}`
    : '';

const listArg = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const db = (c: Command) =>
  c.option('--database <location>', 'feedback store: a SQLite file or postgres://… URL', DEFAULT_DB);

export function registerFeedbackCommands(program: Command): void {
  const fb = program
    .command('feedback')
    .description('administer a feedback store from the terminal: projects, labelers, task import, export, statistics');

  db(fb.command('create-project').description('create a labeling project'))
    .requiredOption('--name <name>', 'project name')
    .option('--overlap <n>', 'labelers per task', intArg(1, 100), 1)
    .option(
      '--gold-every <n>',
      'every n-th task a labeler gets is a gold task (0 = gold tasks only after the others)',
      intArg(0, 1000),
      0,
    )
    .option('--axes <list>', 'comma-separated 1–7 rating axes, e.g. accuracy,coverage,coherence', listArg, [])
    .action((o) =>
      withStore(o.database, async (store) => {
        const p = await store.createProject(o.name, { overlap: o.overlap, goldEvery: o.goldEvery, axes: o.axes });
        process.stdout.write(`created project ${p.id} "${p.name}"\n`);
      }),
    );

  db(
    fb
      .command('add-labeler')
      .description('create a labeler (or admin) and print their one-time token and sign-in link'),
  )
    .requiredOption('--name <name>', 'user name (unique)')
    .option('--project <ref...>', 'project id(s) or name(s) to add them to')
    .option('--admin', 'create an admin instead of a labeler', false)
    .option('--url <base>', 'base URL of the service, for the sign-in link', 'http://127.0.0.1:8080')
    .action((o) =>
      withStore(o.database, async (store) => {
        const projects: Project[] = [];
        for (const ref of (o.project ?? []) as string[]) projects.push(await findProject(store, ref));
        const role: Role = o.admin ? 'admin' : 'labeler';
        const { user, token } = await store.createUser(o.name, role);
        for (const p of projects) await store.addMember(p.id, user.id);
        process.stdout.write(
          `created ${role} ${user.id} ` +
            `"${user.name}"${projects.length ? ` in ${projects.map((p) => p.name).join(', ')}` : ''}\n` +
            `token (shown only now): ${token}\nsign-in link: ${signInLink(o.url, role, token)}\n`,
        );
      }),
    );

  const switches = [
    {
      name: 'disable',
      done: 'disabled',
      set: (st: FeedbackStore, id: number) => st.disableUser(id),
      description: 'disable a user: their token stops working and their judgments leave exports and agreement',
    },
    {
      name: 'enable',
      done: 'enabled',
      set: (st: FeedbackStore, id: number) => st.enableUser(id),
      description: 'enable a disabled user again: their token works and their judgments count again',
    },
  ];
  for (const sw of switches) {
    db(fb.command(sw.name).description(sw.description))
      .requiredOption('--user <ref>', 'user id or name')
      .action((o) =>
        withStore(o.database, async (store) => {
          const u = await findUser(store, o.user);
          await sw.set(store, u.id);
          process.stdout.write(`${sw.done} ${u.role} ${u.id} "${u.name}"\n`);
        }),
      );
  }

  db(
    fb
      .command('new-token')
      .description('give a user a new token and sign-in link (for a lost link); the old one stops working'),
  )
    .requiredOption('--user <ref>', 'user id or name')
    .option('--url <base>', 'base URL of the service, for the sign-in link', 'http://127.0.0.1:8080')
    .action((o) =>
      withStore(o.database, async (store) => {
        const { user, token } = await store.reissueToken((await findUser(store, o.user)).id);
        process.stdout.write(
          `new token for ${user.role} ${user.id} ` +
            `"${user.name}"` +
            `${user.disabled ? ' (disabled: `rlhf feedback enable` first, or the token will not work)' : ''}\n` +
            `token (shown only now): ${token}\nsign-in link: ${signInLink(o.url, user.role, token)}\n`,
        );
      }),
    );

  db(
    fb
      .command('import')
      .description(
        'import tasks from JSONL: {prompt, completions, gold?, meta?} lines, {kind: "thumbs"|"likert", prompt, ' +
          'completion, gold?, meta?} lines, or `rlhf sample --json` output',
      ),
  )
    .requiredOption('--project <ref>', 'project id or name')
    .requiredOption('--file <file>', 'JSONL file')
    .option('--format <name>', 'auto, tasks or sample', choiceArg(['auto', 'tasks', 'sample'] as const), 'auto')
    .option('--completions-per-task <n>', 'sample format: completions of a prompt per task', intArg(2, 16), 2)
    .option(
      '--kind <kind>',
      'the kind of task of lines without "kind", and of samples: pair (default; compare), thumbs (up or down on ' +
        'one completion) or likert (rate one 1–7)',
      choiceArg(TASK_KINDS),
    )
    .action((o) =>
      withStore(o.database, async (store) => {
        const p = await findProject(store, o.project);
        let parsed: ParsedImport;
        try {
          parsed = parseImport(readTextFile(o.file), {
            format: o.format as ImportFormat | 'auto',
            completionsPerTask: o.completionsPerTask,
            kind: o.kind as TaskKind | undefined,
          });
        } catch (e) {
          if (!(e instanceof ImportError)) throw e;
          for (const i of e.issues.slice(0, 20))
            process.stderr.write(`${o.file}:${i.line}: ${i.field ? `field "${i.field}": ` : ''}${i.message}\n`);
          throw new Error(
            `${o.file}: ${e.total} bad ` +
              `line${e.total === 1 ? '' : 's'}${e.total > 20 ? ' (the first 20 above)' : ''}; nothing imported`,
          );
        }
        const ids = await store.addTasks(p.id, parsed.tasks);
        const gold = goldNote(parsed.tasks, p.settings);
        if (gold) parsed.notes.push(gold);
        process.stdout.write(
          `imported ${ids.length} tasks into "${p.name}" from ${parsed.lines} lines ` +
            `(${parsed.format}${kindCounts(parsed)})${parsed.notes.length ? `; ${parsed.notes.join('; ')}` : ''}\n`,
        );
      }),
    );

  db(
    fb
      .command('export')
      .description(
        'export judgments for the trainers: our comparison JSONL, TRL preference JSONL (pairs), or TRL unpaired ' +
          'JSONL for `train kto` (thumbs and likert tasks)',
      ),
  )
    .requiredOption('--project <ref>', 'project id or name')
    .option(
      '--format <name>',
      'comparisons, trl (pair tasks) or kto ({prompt, completion, label} per thumbs/likert task, by majority; ' +
        'a rating of 4 is no vote)',
      choiceArg(EXPORT_FORMATS),
      'comparisons',
    )
    .option('--margin', "trl: write each pair's confidence (0..1) as its margin", false)
    .option('--include-disabled', 'keep the work of disabled labelers', false)
    .option('--out <file>', 'write here (default: stdout)')
    .action((o) =>
      withStore(o.database, async (store) => {
        const p = await findProject(store, o.project);
        const r = await exportProject(store, p.id, {
          format: o.format as ExportFormat,
          margin: o.margin,
          includeDisabled: o.includeDisabled,
        });
        if (o.out) writeFileSync(o.out, r.text);
        else process.stdout.write(r.text);
        process.stderr.write(`export: ${r.summary}${o.out ? ` in ${o.out}` : ''}\n`);
      }),
    );

  db(fb.command('stats').description("per-labeler counts, throughput and agreement, and the project's agreement"))
    .requiredOption('--project <ref>', 'project id or name')
    .option('--json', 'print one JSON object', false)
    .action((o) =>
      withStore(o.database, async (store) => {
        const p = await findProject(store, o.project);
        const s = await projectStatsWithThroughput(store, p.id);
        process.stdout.write(o.json ? JSON.stringify(s) + '\n' : statsTable(s, p.name, p.settings.goldEvery));
      }),
    );

  db(fb.command('projects').description('list the projects and users of the store')).action((o) =>
    withStore(o.database, async (store) => {
      for (const p of await store.listProjects())
        process.stdout.write(
          `project ${p.id} "${p.name}": overlap ${p.settings.overlap}, gold every ${p.settings.goldEvery}, axes ` +
            `${p.settings.axes.join(',') || '-'}\n`,
        );
      for (const u of await store.listUsers())
        process.stdout.write(`user ${u.id} "${u.name}": ${u.role}${u.disabled ? ', disabled' : ''}\n`);
    }),
  );
}
