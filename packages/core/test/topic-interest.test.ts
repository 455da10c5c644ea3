import { describe, expect, it } from 'vitest';
import { ChannelRegistry } from '../src/channel-registry';
import { TopicInterest } from '../src/topic-interest';
import { RecordingBackend } from './recording-backend';

describe('topic interest', () => {
  it('subscribes a topic once when first needed and unsubscribes it once when dropped', async () => {
    const backend = new RecordingBackend();
    const errors: string[] = [];
    const interest = new TopicInterest(backend, (_e, topic) => errors.push(topic));
    await interest.need('channel:a');
    await interest.need('channel:a');
    expect(interest.topicCount).toBe(1);
    expect(backend.subscribed('channel:a')).toBe(true);
    interest.drop('channel:a');
    interest.drop('channel:a');
    await interest.settled();
    expect(backend.ops).toEqual(['+channel:a', '-channel:a']);
    expect(backend.subscribed('channel:a')).toBe(false);
    expect(interest.topicCount).toBe(0);
    expect(errors).toEqual([]);
  });

  it('runs need, drop, need of one topic in order and ends subscribed', async () => {
    const backend = new RecordingBackend();
    const interest = new TopicInterest(backend, () => undefined);
    void interest.need('user:u');
    interest.drop('user:u');
    await interest.need('user:u');
    await interest.settled();
    expect(backend.ops).toEqual(['+user:u', '-user:u', '+user:u']);
    expect(backend.subscribed('user:u')).toBe(true);
    expect(interest.has('user:u')).toBe(true);
  });

  it('reports a backend failure with its topic and resolves: local delivery goes on', async () => {
    const backend = new RecordingBackend();
    backend.subscribe = async () => {
      throw new Error('broker down');
    };
    const errors: string[] = [];
    const interest = new TopicInterest(backend, (e, topic) =>
      errors.push(`${topic}: ${(e as Error).message}`),
    );
    await expect(interest.need('tenant:t')).resolves.toBeUndefined();
    expect(errors).toEqual(['tenant:t: broker down']);
    expect(interest.has('tenant:t')).toBe(true);
  });

  it('a channel needs its topic from its first subscriber until its last one leaves', async () => {
    const backend = new RecordingBackend();
    const interest = new TopicInterest(backend, () => undefined);
    const channels = new ChannelRegistry<string>(interest);
    await channels.add('news', 's1');
    await channels.add('news', 's2');
    await channels.add('news', 's2');
    expect(channels.subscriptionCount).toBe(2);
    expect(channels.subscribers('news').size).toBe(2);
    channels.remove('news', 's1');
    channels.remove('news', 's1');
    await interest.settled();
    expect(backend.subscribed('channel:news')).toBe(true);
    channels.remove('news', 's2');
    await interest.settled();
    expect(backend.ops).toEqual(['+channel:news', '-channel:news']);
    expect(channels.channelCount).toBe(0);
    expect(channels.subscriptionCount).toBe(0);
    expect(interest.topicCount).toBe(0);
  });
});
