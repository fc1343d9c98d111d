// The feedback store's records and its interface. Every backend (SQLite, PostgreSQL) implements
// FeedbackStore and passes the same conformance suite; everything is async so a network database fits.
// Errors: FieldError (src/data) for invalid input (HTTP 400, names the field), StoreError for the rest.

import type { Comparison } from '../../data/comparison.js';

export type Role = 'admin' | 'labeler';
export type JudgmentStatus = 'done' | 'skipped' | 'flagged';

export interface ProjectSettings {
  /** Labelers per (non-gold) task: a task is served until it has this many `done` judgments. */
  overlap: number;
  /** The preference scale for pairs; only the 9-point scale of Stiennon et al. is supported. */
  scale: 9;
  /** Names of the optional 1–7 rating axes (e.g. accuracy, coverage, coherence). */
  axes: string[];
  /**
   * Every goldEvery-th task served to a labeler is a gold task (while unseen ones remain); 0 = no
   * interval. Either way, gold tasks a labeler has not seen are served once no regular task is left.
   */
  goldEvery: number;
}

export interface Project {
  id: number;
  name: string;
  settings: ProjectSettings;
  createdAt: string;
}

export interface User {
  id: number;
  name: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
}

/**
 * What a labeler does with a task: `pair` compares its completions (two on the 9-point scale, more
 * ranked); `thumbs` gives one completion a thumbs up or down; `likert` rates one completion 1–7.
 */
export type TaskKind = 'pair' | 'thumbs' | 'likert';
export const TASK_KINDS: readonly TaskKind[] = ['pair', 'thumbs', 'likert'];
/** The single-output kinds: one completion, judged on its own. */
export type SingleKind = Exclude<TaskKind, 'pair'>;
export type Thumb = 'up' | 'down';
/** The middle of the 1–7 Likert scale: neither good nor bad. */
export const LIKERT_MIDPOINT = 4;

/**
 * A gold task's known answer. pair: indices into completions, best first (≥ 2); thumbs: `up` or
 * `down`; likert: the rating 1–7.
 */
export type Gold = number[] | Thumb | number;

export interface TaskInput {
  /** Default `pair` (absent means pair). */
  kind?: TaskKind;
  prompt: string;
  /** pair: 2–16 distinct non-empty texts; thumbs and likert: exactly one. */
  completions: string[];
  gold?: Gold;
  meta?: Record<string, unknown>;
}

export interface Task extends TaskInput {
  id: number;
  projectId: number;
  kind: TaskKind;
  createdAt: string;
}

/**
 * What a labeler is shown: never the gold answer. `shown` is the display order (a permutation of the
 * completion indices; shown[0] is "A", the left one), the same for a labeler and task on every call.
 */
export interface Assignment {
  taskId: number;
  projectId: number;
  /** What to do with it: compare (pair), thumbs up or down, or rate 1–7 (likert); see TaskKind. */
  kind: TaskKind;
  prompt: string;
  completions: string[];
  shown: number[];
  /**
   * Until when one of the task's `overlap` places is reserved for this labeler (ISO time). Asking again
   * before then gives the same task and renews the lease; a submission (any status) ends it. Both
   * backends always set it (optional only so that hand-made Assignments in tests stay valid).
   */
  leaseExpiresAt?: string;
}

export interface JudgmentInput {
  taskId: number;
  labelerId: number;
  /** Client-generated id of this submission; a retry with the same id returns the first judgment. */
  submissionId: string;
  /** Default `done`. */
  status?: JudgmentStatus;
  /** Pairs: 1 = A (shown[0]) much better … 5 = equal … 9 = B (shown[1]) much better. */
  choice?: number;
  /** K > 2: positions in `shown`, best first, all K of them. */
  ranking?: number[];
  /** Thumbs tasks: up or down. */
  thumb?: Thumb;
  /** Likert tasks: 1 = very bad … 4 = neither … 7 = very good. */
  rating?: number;
  /**
   * The display order the labeler saw: it must equal the `shown` nextTask handed them (the store keeps
   * it with the assignment), else FieldError `shown`.
   */
  shown: number[];
  /** Ratings 1–7 on the project's axes. */
  axes?: Record<string, number>;
  feedback?: string;
}

export interface Judgment {
  id: number;
  taskId: number;
  labelerId: number;
  submissionId: string;
  status: JudgmentStatus;
  choice?: number;
  ranking?: number[];
  thumb?: Thumb;
  rating?: number;
  shown: number[];
  axes?: Record<string, number>;
  feedback?: string;
  createdAt: string;
}

export interface SubmitResult {
  judgment: Judgment;
  /** false when this submissionId was already stored (a retry): `judgment` is the first one. */
  created: boolean;
}

/**
 * An agreement rate over n comparisons of two judgments of one task, or of a judgment and the gold
 * answer (null when n = 0): the mean of each comparison's agreement in [0, 1]. pair: the fraction of
 * completion pairs ordered alike (a tie agrees only with a tie); thumbs: 1 when both say the same;
 * likert: 1 when the ratings are at most one point apart.
 */
export interface Agreement {
  n: number;
  rate: number | null;
}

export interface LabelerStats {
  userId: number;
  name: string;
  disabled: boolean;
  done: number;
  skipped: number;
  flagged: number;
  /** With other enabled labelers on shared tasks (of every kind): the mean over (task, other labeler). */
  agreement: Agreement;
  /** With the gold answers of gold tasks. */
  gold: Agreement;
}

/** One kind of task in a project: its counts and agreement, with the measures that suit the kind. */
export interface KindStats {
  kind: TaskKind;
  tasks: number;
  goldTasks: number;
  /** Done judgments by enabled labelers. */
  judgments: number;
  /** Between enabled labelers on shared tasks of this kind. */
  agreement: Agreement;
  /** Of enabled labelers with the gold answers of this kind's gold tasks. */
  gold: Agreement;
  /** thumbs: the share of judgments that are thumbs up. */
  upRate?: number | null;
  /** thumbs: Fleiss' κ over tasks judged at least twice: agreement beyond chance (1 perfect, 0 chance level). */
  kappa?: number | null;
  /** likert: the mean rating. */
  meanRating?: number | null;
  /** likert: the mean absolute difference, in points, between two labelers' ratings of one task. */
  meanAbsDiff?: number | null;
  /** likert: the mean absolute difference, in points, between a rating and the gold rating. */
  goldMeanAbsDiff?: number | null;
  /** likert: Krippendorff's α with the interval metric (1 perfect, 0 chance level). */
  alpha?: number | null;
}

export interface ProjectStats {
  projectId: number;
  tasks: number;
  goldTasks: number;
  /** Inter-labeler agreement over all pairs of enabled labelers on shared tasks (every kind). */
  agreement: Agreement;
  /** Per kind of task present in the project, in the order of TASK_KINDS. */
  kinds: KindStats[];
  labelers: LabelerStats[];
}

/**
 * How the labelers judged one single-output task (exportVotes): each done judgment's vote. thumbs: up
 * or down; likert: a rating above the midpoint (5–7) is up, below it (1–3) down, the midpoint (4) neutral.
 */
export interface TaskVotes {
  taskId: number;
  kind: SingleKind;
  prompt: string;
  completion: string;
  up: number;
  down: number;
  neutral: number;
}

export interface ExportOptions {
  /** Include judgments of disabled labelers (default false). */
  includeDisabled?: boolean;
  /** Include `skipped` and `flagged` judgments that carry an answer (choice, ranking, thumb, rating; default false). */
  skipped?: boolean;
}

/** Options every backend takes (openStore passes them through). */
export interface StoreOptions {
  /** How long nextTask reserves a task's place for the labeler it hands the task to (default 10 minutes). */
  leaseMs?: number;
  /** The clock for created_at and lease expiry (tests). */
  now?: () => Date;
}

/** busy: the database is locked by someone else for longer than the store waits; try again shortly (HTTP 503). */
export type StoreErrorCode = 'not_found' | 'conflict' | 'forbidden' | 'busy';

/**
 * Why a submission was refused with `conflict`, for clients that tell the labeler in their own words:
 * - `not_assigned`: nextTask never gave this task to this labeler;
 * - `judged_already`: this labeler judged the task already, under another submissionId (another tab);
 * - `places_taken`: the labeler's lease lapsed and others filled the task's places meanwhile;
 * - `submission_reused`: the submissionId was already used for another task.
 */
export type ConflictReason = 'not_assigned' | 'judged_already' | 'places_taken' | 'submission_reused';

/** A request the store refuses for a reason other than malformed input (HTTP 404, 409, 403, 503). */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly reason?: ConflictReason,
  ) {
    super(message);
  }
}

export interface FeedbackStore {
  /** Creates a project; settings not given take their defaults. Duplicate name → StoreError conflict. */
  createProject(name: string, settings?: Partial<ProjectSettings>): Promise<Project>;
  listProjects(): Promise<Project[]>;
  getProject(id: number): Promise<Project | null>;

  /** Creates a user with a new random access token, returned here once; only its SHA-256 is stored. */
  createUser(name: string, role: Role): Promise<{ user: User; token: string }>;
  listUsers(): Promise<User[]>;
  /** The enabled user holding this token, or null (unknown token, or a disabled user). */
  authenticate(token: string): Promise<User | null>;
  /** Their token stops working; their done judgments leave task counts, agreement and exports; their leases end. */
  disableUser(userId: number): Promise<User>;
  /**
   * Undoes disableUser: the token works again and their done judgments count again. A task whose
   * places others filled meanwhile then holds more done judgments than its overlap (none are dropped).
   */
  enableUser(userId: number): Promise<User>;
  /** A new access token for the user, returned here once; the old one stops working at once. */
  reissueToken(userId: number): Promise<{ user: User; token: string }>;
  addMember(projectId: number, userId: number): Promise<void>;
  isMember(projectId: number, userId: number): Promise<boolean>;

  /**
   * Checks every task (a bad one: FieldError, nothing added), then adds them; returns their ids in
   * order. Large batches are stored in chunks, serving other calls in between: PostgreSQL in one
   * transaction, SQLite one transaction per chunk (a failure midway keeps the chunks before it, and
   * its error says which).
   */
  addTasks(projectId: number, tasks: TaskInput[]): Promise<number[]>;
  getTask(id: number): Promise<Task | null>;
  /**
   * The next task for this labeler, or null when none is left: one they have not judged (in any
   * status), with fewer than `overlap` done judgments by enabled labelers (gold tasks: any count),
   * fullest first then oldest; every `goldEvery`-th one a gold task, and the gold tasks left once no
   * regular task is left (so null means nothing is left at all). Handing out a regular task
   * reserves one of its places (a lease, see Assignment.leaseExpiresAt): done judgments plus live
   * leases never exceed `overlap`, whoever asks at the same moment, from however many processes.
   */
  nextTask(projectId: number, labelerId: number): Promise<Assignment | null>;
  /**
   * Stores a judgment; idempotent per (labeler, submissionId), also under concurrent retries. Ends the
   * labeler's lease on the task. Only a task nextTask gave this labeler can be judged (else StoreError
   * conflict `not_assigned`), in the display order it gave (else FieldError `shown`), once (else
   * conflict `judged_already`). A `done` judgment of a regular task whose places are all taken (the
   * lease expired and others filled or reserved them) is refused: conflict `places_taken`; while a
   * place is free, a late judgment is taken.
   */
  submitJudgment(input: JudgmentInput): Promise<SubmitResult>;
  listJudgments(projectId: number): Promise<Judgment[]>;

  projectStats(projectId: number): Promise<ProjectStats>;
  /** The judgments of pair tasks as comparisons (single-output tasks give none), in judgment order. */
  exportComparisons(projectId: number, options?: ExportOptions): Promise<Comparison[]>;
  /** The votes on each single-output task judged at least once (as options say), in task order. */
  exportVotes(projectId: number, options?: ExportOptions): Promise<TaskVotes[]>;

  close(): Promise<void>;
}
