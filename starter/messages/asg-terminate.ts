/*
 * EventBridge "EC2 Instance-terminate Lifecycle Action" (source aws.autoscaling): a termination hook holds
 * the instance in Terminating:Wait until CompleteLifecycleAction, or until the hook times out.
 *   {"version": "0", "id": "12345678-1234-1234-1234-123456789012",
 *    "detail-type": "EC2 Instance-terminate Lifecycle Action", "source": "aws.autoscaling",
 *    "account": "123456789012", "time": "2024-05-01T12:00:00Z", "region": "us-west-2", "resources": ["<asg arn>"],
 *    "detail": {"LifecycleActionToken": "87654321-4321-4321-4321-210987654321", "AutoScalingGroupName": "my-asg",
 *               "LifecycleHookName": "my-hook", "EC2InstanceId": "i-1234567890abcdef0",
 *               "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
 *               "Origin": "AutoScalingGroup", "Destination": "EC2"}}
 */
import { eventBridgeLifecycleKind } from './lifecycle.js';

export const asgTerminate = eventBridgeLifecycleKind('asg-terminate', 'EC2 Instance-terminate Lifecycle Action');
