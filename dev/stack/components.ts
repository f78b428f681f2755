import type { StackComponent } from './component.js';
import { awsComponent } from './aws.js';
import { kubernetesComponent } from './kubernetes.js';
import { temporalComponent } from './temporal.js';

/** The stack's parts in start order. */
export const components: StackComponent[] = [temporalComponent, awsComponent, kubernetesComponent];
