/**
 * The sample backlog of the setup job (shared/seeds "Backlog Setup Job"): 4 stories, 8 tasks, 2 tasks per
 * story. Pure: the plan depends only on the project, the sprint and the team, so --dry-run prints exactly
 * what a real run writes.
 *
 * Ids are deterministic (`TEST-001-SAMPLE-S01`, `TEST-001-SAMPLE-T01`, ...) so a re-run can find and
 * replace its own rows and never touches any other row of the project.
 */

export interface SampleStory {
  story_id: string;
  project_id: string;
  title: string;
  description: string;
  status: "NotStarted";
  story_points: number;
}

export interface SampleTask {
  task_id: string;
  project_id: string;
  title: string;
  description: string;
  status: "NotStarted";
  assigned_to: string;
  sprint_id: string;
  progress_percentage: 0;
}

export interface StoryTask {
  story_id: string;
  task_id: string;
}

export interface SamplePlan {
  project_id: string;
  sprint_id: string;
  team_members: string[];
  stories: SampleStory[];
  tasks: SampleTask[];
  mappings: StoryTask[];
}

interface StoryTemplate {
  title: string;
  description: string;
  points: number;
  tasks: [TaskTemplate, TaskTemplate];
}

interface TaskTemplate {
  title: string;
  description: string;
}

const STORIES: StoryTemplate[] = [
  {
    title: "User authentication",
    description: "As a team member I can sign in with my company account so that my work is attributed to me.",
    points: 5,
    tasks: [
      { title: "Implement login endpoint", description: "POST /auth/login validating credentials against the identity provider." },
      { title: "Add session expiry and refresh", description: "Expire sessions after 8 hours of inactivity; refresh tokens silently." },
    ],
  },
  {
    title: "Sprint board",
    description: "As a scrum master I can see every task of the current sprint grouped by status.",
    points: 8,
    tasks: [
      { title: "Build sprint board columns", description: "Columns NotStarted, InProgress and Done, filled from the tasks API." },
      { title: "Drag tasks between columns", description: "Moving a card updates the task status and its progress percentage." },
    ],
  },
  {
    title: "Daily stand-up summary",
    description: "As a team I get a short daily summary of what changed since yesterday.",
    points: 3,
    tasks: [
      { title: "Collect task changes of the last 24 hours", description: "Query tasks updated since the previous stand-up, per assignee." },
      { title: "Post the summary to the team channel", description: "Format the changes as one message per team and send it at 09:00." },
    ],
  },
  {
    title: "Backlog reporting",
    description: "As a product owner I can export the backlog with story points to plan the next sprint.",
    points: 5,
    tasks: [
      { title: "Export backlog as CSV", description: "One row per task with story, assignee, status and progress." },
      { title: "Show velocity chart", description: "Story points completed per sprint for the last six sprints." },
    ],
  },
];

const pad = (n: number) => String(n).padStart(2, "0");
export const sampleStoryId = (projectId: string, n: number) => `${projectId}-SAMPLE-S${pad(n)}`;
export const sampleTaskId = (projectId: string, n: number) => `${projectId}-SAMPLE-T${pad(n)}`;

/** Every id a run owns, for the delete of a previous run. */
export function sampleIds(projectId: string): { storyIds: string[]; taskIds: string[] } {
  const storyIds = STORIES.map((_, i) => sampleStoryId(projectId, i + 1));
  const taskIds = STORIES.flatMap((s, i) => s.tasks.map((_, j) => sampleTaskId(projectId, i * s.tasks.length + j + 1)));
  return { storyIds, taskIds };
}

/** Tasks go to the team round-robin: task i (0-based, in id order) → members[i % members.length]. */
export function planSample(projectId: string, sprintId: string, members: readonly string[]): SamplePlan {
  if (members.length === 0) throw new Error("planSample needs at least one team member");
  const stories: SampleStory[] = [];
  const tasks: SampleTask[] = [];
  const mappings: StoryTask[] = [];
  STORIES.forEach((s, i) => {
    const story_id = sampleStoryId(projectId, i + 1);
    stories.push({ story_id, project_id: projectId, title: s.title, description: s.description, status: "NotStarted", story_points: s.points });
    for (const t of s.tasks) {
      const index = tasks.length;
      const task_id = sampleTaskId(projectId, index + 1);
      tasks.push({
        task_id,
        project_id: projectId,
        title: t.title,
        description: t.description,
        status: "NotStarted",
        assigned_to: members[index % members.length]!,
        sprint_id: sprintId,
        progress_percentage: 0,
      });
      mappings.push({ story_id, task_id });
    }
  });
  return { project_id: projectId, sprint_id: sprintId, team_members: [...members], stories, tasks, mappings };
}
