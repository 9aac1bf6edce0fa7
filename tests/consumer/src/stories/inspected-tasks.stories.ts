// A CSF3 story in TypeScript: the inspected source shows in the Connection panel.
import type { Meta, StoryObj } from '@storybook/sveltekit';
import InspectedTasks from './inspected-tasks.svelte';

const meta = {
	title: 'Consumer/Inspected tasks',
	component: InspectedTasks
} satisfies Meta<typeof InspectedTasks>;

export default meta;

type Story = StoryObj<typeof meta>;

/** Polls /api/tasks every second: attempts, requests, responses and status changes in the panel. */
export const Polling: Story = {};
