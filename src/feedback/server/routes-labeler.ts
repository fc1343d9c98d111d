// The routes a labeler's page uses (and the read-only ones admins share): who am I, my projects, the
// next task, submit a judgment, my progress.

import type { FeedbackStore, JudgmentInput, Project } from '../store/types.js';
import type { AddRoute, Principal } from './access.js';
import { ApiError } from './errors.js';
import { judgmentBody } from './schemas.js';

export interface LabelerRouteOptions {
  store: FeedbackStore;
  features: { generate: boolean };
}

/** The project of a checked project route, or 404. */
export async function requireProject(store: FeedbackStore, id: number): Promise<Project> {
  const p = await store.getProject(id);
  if (!p) throw new ApiError(404, 'not_found', `no project ${id}; GET /api/projects lists them`);
  return p;
}

const me = (p: Principal | undefined): Principal => {
  if (!p) throw new ApiError(401, 'unauthorized', 'not signed in');
  return p;
};

export function registerLabelerRoutes(add: AddRoute, o: LabelerRouteOptions): void {
  const { store } = o;

  add('health', {}, async () => ({ ok: true }));

  add('me', {}, async (req) => ({ user: me(req.principal), features: o.features }));

  add('listProjects', {}, async (req) => {
    const user = me(req.principal);
    const all = await store.listProjects();
    if (user.role === 'admin') return { projects: all };
    const mine: Project[] = [];
    for (const p of all) if (await store.isMember(p.id, user.id)) mine.push(p);
    return { projects: mine };
  });

  add('getProject', {}, async (req) => ({ project: await requireProject(store, req.projectId!) }));

  add('nextTask', {}, async (req) => {
    await requireProject(store, req.projectId!);
    return { task: await store.nextTask(req.projectId!, me(req.principal).id) };
  });

  add('submit', { schema: { body: judgmentBody } }, async (req, reply) => {
    const body = req.body as Omit<JudgmentInput, 'labelerId'>;
    const task = await store.getTask(body.taskId);
    if (!task || task.projectId !== req.projectId) {
      throw new ApiError(
        404,
        'not_found',
        `no task ${body.taskId} in project ${req.projectId}; judge the task GET ` +
          `/api/projects/${req.projectId}/next returned`,
        { field: 'taskId' },
      );
    }
    const r = await store.submitJudgment({ ...body, labelerId: me(req.principal).id });
    // 201 for a new judgment, 200 for a retry of one already stored.
    return reply.code(r.created ? 201 : 200).send(r);
  });

  add('progress', {}, async (req) => {
    const user = me(req.principal);
    const s = await store.projectStats(req.projectId!);
    const mine = s.labelers.find((l) => l.userId === user.id);
    return {
      projectId: s.projectId,
      tasks: s.tasks,
      done: mine?.done ?? 0,
      skipped: mine?.skipped ?? 0,
      flagged: mine?.flagged ?? 0,
      agreement: mine?.agreement ?? { n: 0, rate: null },
      gold: mine?.gold ?? { n: 0, rate: null },
    };
  });
}
