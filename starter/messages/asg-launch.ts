/*
 * EventBridge "EC2 Instance-launch Lifecycle Action" (source aws.autoscaling): a launch hook holds the new
 * instance in Pending:Wait; the launch workflow completes the action once the node is ready.
 *   {"version": "0", "id": "12345678-1234-1234-1234-123456789012",
 *    "detail-type": "EC2 Instance-launch Lifecycle Action", "source": "aws.autoscaling",
 *    "account": "123456789012", "time": "2024-05-01T12:00:00Z", "region": "us-west-2", "resources": ["<asg arn>"],
 *    "detail": {"LifecycleActionToken": "87654321-4321-4321-4321-210987654321", "AutoScalingGroupName": "my-asg",
 *               "LifecycleHookName": "my-hook", "EC2InstanceId": "i-1234567890abcdef0",
 *               "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING", "NotificationMetadata": "additional-info",
 *               "Origin": "EC2", "Destination": "AutoScalingGroup"}}
 */
import { eventBridgeLifecycleKind } from './lifecycle.js';

export const asgLaunch = eventBridgeLifecycleKind('asg-launch', 'EC2 Instance-launch Lifecycle Action');
