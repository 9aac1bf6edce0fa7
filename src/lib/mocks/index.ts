export {
	createTaskApi,
	type CommitFaults,
	type Faults,
	type StreamFaults,
	type TaskApi,
	type TaskApiOptions
} from './task-api.js';
export { createScenario, scenarios, type ScenarioName } from './scenarios.js';
export { FIXTURE_NOW, manyTasks, taskFixtures, type MockTask } from './fixtures.js';
export { freezeDate } from './clock.js';
